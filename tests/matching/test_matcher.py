"""The matcher on the database: who is a candidate, fairness, accepting and rejecting."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from timebank.core import clock
from timebank.matching import candidates, operations, rules
from timebank.matching.models import MatchRun, Proposal, ProposalStatus
from timebank.posts.models import Claim, ClaimStatus, PostSession


def pairs(db, **kw):
    problem = candidates.load_post_problem(rules.current(), **kw)
    return {(m, s) for m, s, _c in problem.pairs}


def session_of(post):
    return post.sessions[0]


def test_fairness_less_recent_service_is_proposed(db, tree, make_post, make_member, run_match,
                                                  proposals):
    from timebank.ledger import operations as ledger

    busy = make_member(name="忙碌党员")
    idle = make_member(name="空闲党员")
    ledger.deposit(None, busy, 600, source_type="test", source_id=busy.id, reason="earlier")
    db.session.commit()
    make_post(capacity=1)
    run_match()
    (p,) = proposals()
    assert p.member_id == idle.id
    assert p.reasons["load"]["minutes_30"] == 0 and p.reasons["tier"] == "community"

    # The other way round once the idle member has served more.
    ledger.deposit(None, idle, 1200, source_type="test", source_id=idle.id, reason="later")
    db.session.commit()
    run_match()
    (p,) = proposals()
    assert p.member_id == busy.id


def test_candidates_exclude_what_rules_forbid(db, tree, make_post, make_member, skills):
    from timebank.members import operations as members
    from timebank.posts import operations as posts

    post = make_post(capacity=5, skills=[skills["law"]])
    s = session_of(post).id
    ok = make_member(skills=[skills["law"]], kinds=())
    willing = make_member()  # willing for the kind, no skill
    unfit = make_member(kinds=(), skills=[skills["repair"]])
    busy_slot = make_member(free=((5, "evening"),))
    far = make_member(community=tree.C3, grid=tree.G3a)
    same_street = make_member(community=tree.C2)
    inactive = make_member()
    members.deactivate(None, inactive)
    claimed = make_member()
    posts.claim(None, claimed, post, session_of(post))
    full_month = make_member(limit=1)
    other = make_post(capacity=3, weekday=6)
    posts.claim(None, full_month, other, session_of(other))
    db.session.commit()

    found = {m for m, sid in pairs(db) if sid == s}
    assert {ok.id, willing.id, same_street.id} <= found
    for excluded in (unfit, busy_slot, far, inactive, claimed, full_month):
        assert excluded.id not in found


def test_members_are_not_proposed_for_a_session_clashing_with_their_claims(
        db, tree, make_post, make_member, run_match, proposals):
    from timebank.posts import operations as posts

    member = make_member()
    claimed = make_post(capacity=5, start="09:00", end="11:00")
    posts.claim(None, member, claimed, session_of(claimed))
    db.session.commit()
    clash = session_of(make_post(capacity=5, start="10:30", end="11:30")).id
    later = session_of(make_post(capacity=5, start="11:00", end="11:45")).id
    found = {sid for m, sid in pairs(db) if m == member.id}
    assert clash not in found and later in found
    run_match()
    assert (member.id, clash) not in {(p.member_id, p.session_id) for p in proposals()}


def test_open_to_all_reaches_other_streets(db, tree, make_post, make_member):
    far = make_member(community=tree.C3, grid=tree.G3a)
    post = make_post(open_to_all=True)
    assert (far.id, session_of(post).id) in pairs(db)


def test_rejected_pairs_are_not_proposed_again(db, tree, make_post, make_member, run_match,
                                               proposals):
    m = make_member()
    make_post(capacity=1)
    run_match()
    (p,) = proposals()
    operations.reject(tree.staff, p)
    db.session.commit()
    result = run_match()
    assert result.post_filled == 0 and proposals() == []
    assert db.session.get(Proposal, p.id).status == ProposalStatus.REJECTED
    # Another member still can be.
    other = make_member()
    run_match()
    assert [q.member_id for q in proposals()] == [other.id]
    assert m.id != other.id


def test_accept_creates_the_claim_through_posts(db, tree, make_post, make_member, run_match,
                                                proposals):
    m = make_member()
    post = make_post(capacity=1)
    run_match()
    (p,) = proposals()
    operations.accept(tree.staff, p)
    db.session.commit()
    claim = db.session.execute(select(Claim).where(Claim.member_id == m.id)).scalar_one()
    assert claim.status == ClaimStatus.ACTIVE and claim.session_id == session_of(post).id
    assert db.session.get(PostSession, claim.session_id).claimed == 1
    assert db.session.get(Proposal, p.id).claim_id == claim.id
    with pytest.raises(operations.AlreadyDecided):
        operations.accept(tree.staff, db.session.get(Proposal, p.id))
    db.session.rollback()


def test_accept_respects_capacity(db, tree, make_post, make_member, run_match, proposals):
    from timebank.posts import operations as posts
    from timebank.posts.errors import PostFull

    first, second = make_member(), make_member()
    post = make_post(capacity=2)
    run_match()
    assert len(proposals()) == 2
    # Meanwhile someone else claims one place, and the post is reduced to that... (both
    # proposals were made with two places left).
    walk_in = make_member()
    posts.claim(None, walk_in, post, session_of(post))
    db.session.commit()
    out = operations.decide_many(tree.staff, proposals(), "accept")
    db.session.commit()
    assert out.done == 1 and len(out.failed) == 1
    session = db.session.get(PostSession, session_of(post).id)
    assert session.claimed == session.capacity == 2
    # The failed one stays undecided and the error says why.
    assert len(proposals()) == 1
    assert out.failed[0][1] == str(PostFull.default_message)
    with pytest.raises(PostFull):
        operations.accept(tree.staff, proposals()[0])
    db.session.rollback()
    assert {first.id, second.id}


def test_staff_of_another_community_cannot_decide(db, tree, make_post, make_member, run_match,
                                                  proposals):
    from timebank.core.errors import Forbidden

    make_member()
    make_post(capacity=1)
    run_match()
    (p,) = proposals()
    with pytest.raises(Forbidden):
        operations.reject(tree.staff3, p)
    db.session.rollback()


def test_a_new_run_supersedes_undecided_proposals(db, tree, make_post, make_member, run_match,
                                                  proposals):
    make_member()
    make_post(capacity=1)
    run_match(scope=tree.C1)
    first = proposals()
    run_match(scope=tree.C1)
    second = proposals()
    assert len(first) == len(second) == 1 and first[0].id != second[0].id
    assert db.session.get(Proposal, first[0].id).status == ProposalStatus.SUPERSEDED
    # A run elsewhere leaves them alone.
    run_match(scope=tree.C3)
    assert [p.id for p in proposals()] == [second[0].id]


def test_pending_proposals_use_up_the_monthly_limit(db, tree, make_post, make_member, run_match,
                                                    proposals):
    make_member(limit=1)
    make_post(community=tree.C1, capacity=1)
    make_post(community=tree.C2, capacity=1, weekday=5, start="09:30")
    run_match(scope=tree.C1)
    run_match(scope=tree.C2)
    assert len(proposals()) == 1


def test_scope_limits_the_posts(db, tree, make_post, make_member, run_match, proposals):
    make_member()
    make_member(community=tree.C2)
    make_post(community=tree.C1)
    c2 = make_post(community=tree.C2)
    run_match(scope=tree.C2)
    assert {p.post_id for p in proposals()} == {c2.id}


def test_nightly_run_is_idempotent_per_night(db, tree, make_post, make_member, proposals):
    from timebank.matching import tasks

    make_member()
    make_post(capacity=1)
    at = clock.now().replace(microsecond=0)
    first = tasks.nightly_match(at)
    db.session.commit()
    assert "1 post proposals" in first
    second = tasks.nightly_match(at)
    db.session.commit()
    assert "already" in second
    assert db.session.execute(select(func.count()).select_from(MatchRun)).scalar_one() == 1
    assert len(proposals()) == 1
    # The next night runs again.
    tasks.nightly_match(at + dt.timedelta(days=1))
    db.session.commit()
    assert db.session.execute(select(func.count()).select_from(MatchRun)).scalar_one() == 2


def test_recommendations_and_suggestions(db, tree, make_post, make_member, skills):
    from timebank.matching import queries

    m = make_member(skills=[skills["law"]])
    fit = make_post(skills=[skills["law"]])
    make_post(kind="culture-01")  # not a fit
    recs = queries.recommended_posts(m)
    assert [r.post.id for r in recs] == [fit.id]
    assert recs[0].reasons["skills"] == ["法律咨询"]
    suggestions = queries.suggest_volunteers(fit)
    (row,) = suggestions
    assert [c.member.id for c in row.candidates] == [m.id]


def test_pending_members_are_not_candidates(db, tree, make_post, make_member):
    from sqlalchemy import update

    from timebank.members.models import Member

    pending = make_member()
    db.session.execute(update(Member).where(Member.id == pending.id).values(status="pending"))
    db.session.commit()
    post = make_post()
    assert (pending.id, session_of(post).id) not in pairs(db)


def test_the_scheduler_runs_the_nightly_job_once_per_period(app, db, tree, make_post,
                                                            make_member):
    from timebank.jobs import runner, table

    make_member()
    make_post(capacity=1)
    job = table.get_job("matching.nightly")
    period = table.latest_fire_time(job, clock.now())
    first = runner.execute(job, period)
    assert first.outcome == "ok", first.summary
    assert runner.execute(job, period).outcome == "duplicate"
    assert db.session.execute(select(func.count()).select_from(Proposal)).scalar_one() == 1
