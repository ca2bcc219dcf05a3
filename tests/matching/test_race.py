"""Parallel decisions: each in its own thread, connection and transaction."""

from sqlalchemy import func, select
from tests.parallel import run_parallel

from timebank.matching import operations
from timebank.matching.models import Proposal, ProposalStatus
from timebank.posts.models import Claim, PostSession


def _accept(db, staff_id, proposal_id):
    from timebank.accounts.models import User

    def job():
        return operations.accept(db.session.get(User, staff_id),
                                 db.session.get(Proposal, proposal_id)).id
    return job


def test_two_staff_accepting_the_same_proposal_make_one_claim(app, db, tree, make_post,
                                                              make_member, run_match, proposals):
    make_member()
    make_post(capacity=1)
    run_match()
    (p,) = proposals()
    results = run_parallel(app, db, [_accept(db, tree.staff.id, p.id),
                                     _accept(db, tree.street_admin.id, p.id)])
    assert sorted(type(r).__name__ for r in results) == ["AlreadyDecided", "int"]
    db.session.expire_all()
    assert db.session.execute(select(func.count()).select_from(Claim)).scalar_one() == 1
    assert db.session.get(Proposal, p.id).status == ProposalStatus.ACCEPTED


def test_parallel_accepts_never_overbook(app, db, tree, make_post, make_member, run_match,
                                         proposals):
    from timebank.posts import operations as posts

    for _ in range(4):
        make_member()
    post = make_post(capacity=4)
    run_match()
    ps = proposals()
    assert len(ps) == 4
    # Three walk-ins take places meanwhile: one place is left for four accepted proposals.
    for _ in range(3):
        posts.claim(None, make_member(), post, post.sessions[0])
    db.session.commit()
    results = run_parallel(app, db, [_accept(db, tree.staff.id, p.id) for p in ps])
    assert sum(isinstance(r, int) for r in results) == 1
    db.session.expire_all()
    session = db.session.get(PostSession, post.sessions[0].id)
    assert session.claimed == session.capacity == 4
    accepted = db.session.execute(select(func.count()).select_from(Proposal).where(
        Proposal.status == ProposalStatus.ACCEPTED)).scalar_one()
    assert accepted == 1
