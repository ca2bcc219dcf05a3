"""Claiming places: capacity under concurrency, duplicates, deadlines, waiting lists."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from tests.parallel import run_parallel

from timebank.core import clock
from timebank.core.errors import Forbidden, NotFound
from timebank.posts import operations
from timebank.posts.errors import (AlreadyClaimed, DeadlinePassed, NotApproved, PostClosed,
                                   PostFull)
from timebank.posts.models import Claim, ClaimStatus, PostSession, WaitlistEntry


def active_claims(db, session_id: int) -> int:
    return db.session.execute(select(func.count()).select_from(Claim).where(
        Claim.session_id == session_id, Claim.status == ClaimStatus.ACTIVE.value)).scalar_one()


def counter(db, session_id: int) -> int:
    db.session.expire_all()
    return db.session.get(PostSession, session_id).claimed


def test_fifty_parallel_claims_fill_exactly_five_places(app, db, make_post, make_member):
    """The race: 50 members claim a 5-place session at the same moment, each in its own
    connection and transaction. Exactly 5 win; the counter equals the rows."""
    post = make_post(capacity=5)
    session_id = post.sessions[0].id
    post_id = post.id
    member_ids = [make_member().id for _ in range(50)]

    def claim_as(member_id):
        def job():
            from timebank.members.models import Member
            from timebank.posts.models import Post

            member = db.session.get(Member, member_id)
            p = db.session.get(Post, post_id)
            return operations.claim(member.user, member, p)
        return job

    results = run_parallel(app, db, [claim_as(m) for m in member_ids])
    won = [r for r in results if isinstance(r, operations.ClaimOutcome)]
    lost = [r for r in results if isinstance(r, PostFull)]
    assert len(won) == 5
    assert len(lost) == 45, [r for r in results if not isinstance(r, (PostFull,
                                                                        operations.ClaimOutcome))]
    assert counter(db, session_id) == 5
    assert active_claims(db, session_id) == 5


def test_parallel_duplicate_claims_by_one_member_give_one_claim(app, db, make_post, make_member):
    post = make_post(capacity=5)
    session_id, post_id = post.sessions[0].id, post.id
    member_id = make_member().id

    def job():
        from timebank.members.models import Member
        from timebank.posts.models import Post

        member = db.session.get(Member, member_id)
        return operations.claim(member.user, member, db.session.get(Post, post_id))

    results = run_parallel(app, db, [job] * 10)
    assert sum(isinstance(r, operations.ClaimOutcome) for r in results) == 1
    assert all(isinstance(r, (operations.ClaimOutcome, AlreadyClaimed)) for r in results)
    assert counter(db, session_id) == 1
    assert active_claims(db, session_id) == 1


def test_claim_one_session_and_the_rest_of_the_post(db, make_post, member_of, tree):
    post = make_post(days=(2, 9, 16))
    member = member_of(tree.member)
    first = post.sessions[0]
    out = operations.claim(tree.member, member, post, session=first)
    db.session.commit()
    assert [c.session_id for c in out.claims] == [first.id]
    with pytest.raises(AlreadyClaimed):
        operations.claim(tree.member, member, post, session=first)
    db.session.rollback()
    rest = operations.claim(tree.member, member, post)
    db.session.commit()
    assert sorted(c.session_id for c in rest.claims) == [s.id for s in post.sessions[1:]]
    with pytest.raises(AlreadyClaimed):
        operations.claim(tree.member, member, post)
    db.session.rollback()
    assert [counter(db, s.id) for s in post.sessions] == [1, 1, 1]


def test_whole_post_claim_skips_full_sessions(db, make_post, make_member):
    post = make_post(capacity=1, days=(2, 3))
    a, b = make_member(), make_member()
    operations.claim(a.user, a, post, session=post.sessions[0])
    db.session.commit()
    out = operations.claim(b.user, b, post)
    db.session.commit()
    assert [c.session_id for c in out.claims] == [post.sessions[1].id]
    assert [s.id for s in out.full] == [post.sessions[0].id]
    c = make_member()
    with pytest.raises(PostFull):
        operations.claim(c.user, c, post)
    db.session.rollback()
    waiting = operations.claim(c.user, c, post, waitlist=True)
    db.session.commit()
    assert waiting.claims == [] and len(waiting.waitlisted) == 2


def test_withdraw_frees_the_place_and_promotes_the_first_waiting(db, make_post, make_member):
    from timebank.inbox.models import Message

    post = make_post(capacity=1)
    session = post.sessions[0]
    a, b, c = make_member(), make_member(), make_member()
    claim_a = operations.claim(a.user, a, post).claims[0]
    operations.claim(b.user, b, post, waitlist=True)
    db.session.commit()
    with clock.freeze(clock.now() + dt.timedelta(seconds=5)):
        operations.claim(c.user, c, post, waitlist=True)
    db.session.commit()
    operations.withdraw(a.user, claim_a)
    db.session.commit()
    holders = db.session.execute(select(Claim.member_id).where(
        Claim.session_id == session.id, Claim.status == "active")).scalars().all()
    assert holders == [b.id]
    assert counter(db, session.id) == 1
    promoted = db.session.execute(select(Claim).where(Claim.member_id == b.id)).scalar_one()
    assert promoted.promoted
    statuses = dict(db.session.execute(select(WaitlistEntry.member_id, WaitlistEntry.status)
                                       ).all())
    assert statuses == {b.id: "promoted", c.id: "waiting"}
    msg = db.session.execute(select(Message).where(Message.recipient_id == b.user_id)
                             ).scalar_one()
    assert post.title in msg.subject
    # Claiming again after withdrawing reuses the row; the place is taken, so it is full now.
    with pytest.raises(PostFull):
        operations.claim(a.user, a, post)
    db.session.rollback()


def test_deadline(db, make_post, member_of, make_member, tree):
    deadline = clock.now() + dt.timedelta(days=1)
    post = make_post(days=(3,), claim_deadline=deadline)
    member = member_of(tree.member)
    late = make_member()
    claim = operations.claim(tree.member, member, post).claims[0]
    db.session.commit()
    with clock.freeze(deadline + dt.timedelta(minutes=1)):
        with pytest.raises(DeadlinePassed):
            operations.withdraw(tree.member, claim)
        db.session.rollback()
        with pytest.raises(DeadlinePassed):
            operations.claim(late.user, late, post)
        db.session.rollback()
        # Staff may still take a member off before the session starts.
        operations.withdraw(tree.staff, claim)
        db.session.commit()
    assert counter(db, post.sessions[0].id) == 0


def test_started_session_cannot_be_claimed(db, make_post, member_of, tree):
    post = make_post(days=(1,))
    with clock.freeze(post.sessions[0].starts_at + dt.timedelta(minutes=1)), \
            pytest.raises(DeadlinePassed):
        operations.claim(tree.member, member_of(tree.member), post, session=post.sessions[0])


def test_cancelled_and_draft_posts_refuse_claims(db, make_post, member_of, tree):
    from timebank.inbox.models import Message

    post = make_post()
    member = member_of(tree.member)
    operations.claim(tree.member, member, post)
    db.session.commit()
    n = operations.cancel(tree.staff, post, "下雨")
    db.session.commit()
    assert n == 1
    assert counter(db, post.sessions[0].id) == 0
    assert active_claims(db, post.sessions[0].id) == 0
    msg = db.session.execute(select(Message).where(Message.recipient_id == tree.member.id)
                             ).scalar_one()
    assert "下雨" in msg.body
    with pytest.raises(PostClosed):
        operations.claim(tree.member, member, post)
    db.session.rollback()
    draft = make_post(publish=False)
    with pytest.raises(NotFound):  # members do not see drafts at all
        operations.claim(tree.member, member, draft)


def test_members_claim_only_in_their_street_unless_open_to_all(db, make_post, member_of, tree,
                                                              make_member):
    post_c2 = make_post(community=tree.C2)  # same street S1 as the member's C1
    post_c3 = make_post(community=tree.C3)  # street S2
    open_c3 = make_post(community=tree.C3, open_to_all=True)
    member = member_of(tree.member)
    assert operations.claim(tree.member, member, post_c2).claims
    with pytest.raises(NotFound):
        operations.claim(tree.member, member, post_c3)
    db.session.rollback()
    assert operations.claim(tree.member, member, open_c3).claims


def test_only_approved_members_and_only_for_themselves(db, make_post, member_of, tree,
                                                       make_member):
    post = make_post()
    other = make_member()
    with pytest.raises(Forbidden):
        operations.claim(tree.member, other, post)
    other.status = "pending"
    db.session.commit()
    with pytest.raises(NotApproved):
        operations.claim(other.user, other, post)


def test_a_claim_racing_a_cancellation_never_survives_it(app, db, make_post, make_member, tree):
    """Cancel sets ``cancelled`` on the session rows before cancelling claims, and the claim's
    conditional update tests it: whatever the order, nothing active is left on a cancelled
    session and the counter equals the rows."""
    post = make_post(capacity=30)
    post_id, session_id, staff_id = post.id, post.sessions[0].id, tree.staff.id
    member_ids = [make_member().id for _ in range(20)]

    def claim_as(member_id):
        def job():
            from timebank.members.models import Member
            from timebank.posts.models import Post

            m = db.session.get(Member, member_id)
            return operations.claim(m.user, m, db.session.get(Post, post_id))
        return job

    def cancel():
        from timebank.accounts.models import User
        from timebank.posts.models import Post

        return operations.cancel(db.session.get(User, staff_id), db.session.get(Post, post_id))

    run_parallel(app, db, [claim_as(m) for m in member_ids[:10]] + [cancel]
                 + [claim_as(m) for m in member_ids[10:]])
    assert counter(db, session_id) == active_claims(db, session_id) == 0


def test_raising_capacity_of_a_published_post_promotes_the_waiting_list(db, tree, make_post,
                                                                        make_member):
    post = make_post(capacity=1)
    a, b = make_member(), make_member()
    operations.claim(a.user, a, post)
    operations.claim(b.user, b, post, waitlist=True)
    db.session.commit()
    data = operations.PostData(kind=post.kind, title=post.title, capacity=2)
    operations.update_post(tree.staff, post, data)
    db.session.commit()
    assert counter(db, post.sessions[0].id) == active_claims(db, post.sessions[0].id) == 2
    from timebank.core.errors import Invalid

    with pytest.raises(Invalid):
        operations.update_post(tree.staff, post, operations.PostData(
            kind=post.kind, title=post.title, capacity=1))
