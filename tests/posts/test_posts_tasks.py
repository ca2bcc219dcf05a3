"""Scheduled job bodies: each does its work once; running it again changes nothing."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from timebank.core import clock
from timebank.inbox.models import Message
from timebank.posts import operations, qr, tasks
from timebank.posts.models import Claim, PostSession, ServiceRecord, WaitlistEntry


def messages(db, user) -> list[Message]:
    return db.session.execute(select(Message).where(Message.recipient_id == user.id)
                              ).scalars().all()


def test_close_past_deadline(db, make_post):
    deadline = clock.now() + dt.timedelta(hours=2)
    late = make_post(days=(3,), claim_deadline=deadline)
    open_post = make_post(days=(3,))
    at = deadline + dt.timedelta(minutes=1)
    assert tasks.close_past_deadline(at) == "1 posts closed"
    db.session.commit()
    assert tasks.close_past_deadline(at) == "0 posts closed"
    assert (late.status, open_post.status) == ("closed", "published")
    # Once every session has started the post closes too.
    after = open_post.sessions[-1].starts_at + dt.timedelta(minutes=1)
    assert tasks.close_past_deadline(after) == "1 posts closed"


def test_mark_no_shows_and_close_open_check_ins(db, tree, make_post, make_member):
    post = make_post(days=(1,))
    session = post.sessions[0]
    absent, present, forgot = make_member(), make_member(), make_member()
    claims = {m.id: operations.claim(m.user, m, post).claims[0] for m in (absent, present, forgot)}
    db.session.commit()
    token = qr.token_for(session)
    with clock.freeze(session.starts_at):
        operations.check_in(present.user, present, token)
        operations.check_in(forgot.user, forgot, token)
    with clock.freeze(session.ends_at):
        operations.check_in(present.user, present, token)
    db.session.commit()
    at = session.ends_at + qr.GRACE + dt.timedelta(minutes=5)
    assert tasks.mark_no_shows(session.ends_at) .startswith("0 no-shows")  # grace not over
    summary = tasks.mark_no_shows(at)
    db.session.commit()
    assert summary == "1 no-shows marked, 1 records from check-ins without check-out"
    assert tasks.mark_no_shows(at) == "0 no-shows marked, 0 records from check-ins without " \
                                      "check-out"
    db.session.expire_all()
    assert db.session.get(Claim, claims[absent.id].id).attendance == "no_show"
    records = {r.member_id: r.minutes for r in db.session.execute(select(ServiceRecord)).scalars()}
    assert records == {present.id: 120, forgot.id: 120}


def test_promote_waiting_lists_after_capacity_grows_and_expire_old_entries(db, tree, make_post,
                                                                           make_member):
    post = make_post(capacity=1, days=(2,))
    holder, waiting = make_member(), make_member()
    operations.claim(holder.user, holder, post)
    operations.claim(waiting.user, waiting, post, waitlist=True)
    db.session.commit()
    # A capacity raised behind the operations' back (e.g. by a data fix) is noticed by the job.
    db.session.execute(PostSession.__table__.update().values(capacity=2))
    db.session.commit()
    now = clock.now()
    assert tasks.promote_waiting_lists(now).startswith("1 promoted")
    db.session.commit()
    assert tasks.promote_waiting_lists(now).startswith("0 promoted")
    assert db.session.execute(select(func.count()).select_from(Claim).where(
        Claim.status == "active")).scalar_one() == 2
    assert any("候补" in m.subject for m in messages(db, waiting.user))
    late = make_member()
    operations.claim(late.user, late, post, waitlist=True)
    db.session.commit()
    after = post.sessions[0].starts_at + dt.timedelta(minutes=1)
    assert tasks.promote_waiting_lists(after) == "0 promoted from waiting lists, " \
                                                 "1 waiting entries expired"
    assert db.session.execute(select(WaitlistEntry.status).where(
        WaitlistEntry.member_id == late.id)).scalar_one() == "expired"


def test_reminders_the_day_before_are_sent_once(db, tree, make_post, member_of):
    post = make_post(days=(1,), place="社区活动室")
    make_post(days=(2,))  # not tomorrow
    operations.claim(tree.member, member_of(tree.member), post)
    db.session.commit()
    evening = clock.local_datetime(clock.today(), dt.time(18))
    assert tasks.send_reminders(evening) == "1 reminders sent for 1 claims tomorrow"
    db.session.commit()
    assert tasks.send_reminders(evening) == "0 reminders sent for 1 claims tomorrow"
    (msg,) = messages(db, tree.member)
    assert post.title in msg.subject and "社区活动室" in msg.body


def test_jobs_are_wired_in_the_scheduler_table():
    from timebank.jobs import runner, table

    funcs = {j.func for j in table.JOBS if j.func.startswith("timebank.posts.tasks:")}
    for path in funcs:
        assert callable(runner._resolve(path))
    assert funcs == {"timebank.posts.tasks:send_reminders",
                     "timebank.posts.tasks:close_past_deadline",
                     "timebank.posts.tasks:mark_no_shows",
                     "timebank.posts.tasks:promote_waiting_lists"}
