"""A claim must fit the member: no two claimed sessions at once, and no more sessions in a
month than their registration form allows."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from timebank.core import clock
from timebank.members import operations as members
from timebank.posts import operations
from timebank.posts.errors import MonthlyLimitReached, TimeConflict
from timebank.posts.models import Claim, ClaimStatus, WaitlistEntry, WaitStatus

#: Early in a month, so every session a few days ahead falls in it.
MONTH_START = dt.datetime(2027, 3, 1, 1, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def early_in_month():
    with clock.freeze(MONTH_START):
        yield


def active(db, member) -> int:
    return db.session.execute(select(func.count()).select_from(Claim).where(
        Claim.member_id == member.id, Claim.status == ClaimStatus.ACTIVE.value)).scalar_one()


def set_limit(db, member, n):
    members.save_profile(None, member, max_sessions_per_month=n)
    db.session.commit()


def test_overlapping_session_is_refused_and_adjacent_one_allowed(db, make_post, member_of, tree):
    member = member_of(tree.member)
    first = make_post(days=(3,), start="09:00", end="11:00", title="助老")
    clash = make_post(days=(3,), start="10:30", end="12:00", title="清洁")
    after = make_post(days=(3,), start="11:00", end="12:00", title="巡逻")
    operations.claim(tree.member, member, first)
    db.session.commit()
    with pytest.raises(TimeConflict) as e:
        operations.claim(tree.member, member, clash)
    db.session.rollback()
    assert "助老" in str(e.value.message)
    operations.claim(tree.member, member, after)
    db.session.commit()
    assert active(db, member) == 2
    # Withdrawing the first frees the time again.
    operations.withdraw(tree.member, db.session.execute(select(Claim).where(
        Claim.post_id == first.id)).scalar_one())
    db.session.commit()
    operations.claim(tree.member, member, make_post(days=(3,), start="09:00", end="10:30"))
    db.session.commit()
    assert active(db, member) == 2


def test_monthly_limit_from_the_registration_form(db, make_post, member_of, tree, early_in_month):
    member = member_of(tree.member)
    set_limit(db, member, 2)
    posts = [make_post(days=(d,)) for d in (3, 4, 5)]
    operations.claim(tree.member, member, posts[0])
    operations.claim(tree.member, member, posts[1])
    db.session.commit()
    with pytest.raises(MonthlyLimitReached) as e:
        operations.claim(tree.member, member, posts[2])
    db.session.rollback()
    assert "2" in str(e.value.message)
    assert active(db, member) == 2
    # Raising the number in the form lets the member claim again.
    set_limit(db, member, 3)
    operations.claim(tree.member, member, posts[2])
    db.session.commit()
    assert active(db, member) == 3


def test_no_limit_and_next_month_are_not_counted(db, make_post, member_of, tree, early_in_month):
    member = member_of(tree.member)
    set_limit(db, member, 1)
    operations.claim(tree.member, member, make_post(days=(3,)))
    db.session.commit()
    # A session in April counts against April, not March.
    operations.claim(tree.member, member, make_post(days=(35,)))
    db.session.commit()
    set_limit(db, member, None)
    for d in (4, 5, 6):
        operations.claim(tree.member, member, make_post(days=(d,)))
    db.session.commit()
    assert active(db, member) == 5


def test_whole_post_claim_skips_what_does_not_fit(db, make_post, member_of, tree,
                                                  early_in_month):
    member = member_of(tree.member)
    set_limit(db, member, 3)
    other = make_post(days=(3,), start="09:00", end="10:00")
    operations.claim(tree.member, member, other)
    db.session.commit()
    weekly = make_post(days=(3, 10, 17, 24), start="09:30", end="11:00")
    out = operations.claim(tree.member, member, weekly)
    db.session.commit()
    # Day 3 clashes; days 10 and 17 fit; day 24 is over the monthly limit of 3.
    starts = sorted(clock.to_local(c.session.starts_at).day for c in out.claims)
    assert starts == [11, 18]  # local days: 1 March + 10 and + 17
    assert len(out.skipped) == 2
    assert active(db, member) == 3


def test_nothing_fits_gives_the_reason(db, make_post, member_of, tree):
    member = member_of(tree.member)
    operations.claim(tree.member, member, make_post(days=(3,)))
    db.session.commit()
    with pytest.raises(TimeConflict):
        operations.claim(tree.member, member, make_post(days=(3,)))


def test_waitlist_promotion_passes_over_a_member_now_busy(db, make_post, make_member):
    post = make_post(capacity=1, days=(3,))
    a, b, c = make_member(), make_member(), make_member()
    claim_a = operations.claim(a.user, a, post).claims[0]
    operations.claim(b.user, b, post, waitlist=True)
    db.session.commit()
    with clock.freeze(clock.now() + dt.timedelta(seconds=5)):
        operations.claim(c.user, c, post, waitlist=True)
    db.session.commit()
    # b meanwhile claims another session at the same time.
    operations.claim(b.user, b, make_post(days=(3,)))
    db.session.commit()
    operations.withdraw(a.user, claim_a)
    db.session.commit()
    holders = db.session.execute(select(Claim.member_id).where(
        Claim.post_id == post.id, Claim.status == ClaimStatus.ACTIVE.value)).scalars().all()
    assert holders == [c.id]
    entry_b = db.session.execute(select(WaitlistEntry).where(
        WaitlistEntry.member_id == b.id, WaitlistEntry.session_id == post.sessions[0].id)
    ).scalar_one()
    assert entry_b.status == WaitStatus.EXPIRED


def test_claim_page_shows_the_conflict_in_chinese(client, db, make_post, member_of, tree):
    member = member_of(tree.member)
    operations.claim(tree.member, member, make_post(days=(3,), title="助老"))
    db.session.commit()
    clash = make_post(days=(3,))
    client.login(tree.member)
    r = client.post(f"/posts/{clash.id}/claim", follow_redirects=True)
    assert "助老" in r.text and "时间" in r.text
    assert active(db, member) == 1
