"""Staff add sessions to, and move a session of, a published post."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from posts_fixtures import local_day
from timebank.audit.models import AuditEvent
from timebank.core import clock
from timebank.core.errors import Forbidden, Invalid
from timebank.inbox.models import Message
from timebank.posts import operations, qr
from timebank.posts.models import Claim, ClaimStatus, PostSession, WaitlistEntry
from timebank.posts.schedule import MAX_SESSIONS, Schedule

T9, T11 = dt.time(9), dt.time(11)


def at(days: int, time: str) -> dt.datetime:
    return clock.local_datetime(local_day(days), dt.time.fromisoformat(time))


def sessions_of(db, post) -> list[PostSession]:
    db.session.expire_all()
    return list(db.session.execute(select(PostSession).where(PostSession.post_id == post.id)
                                   .order_by(PostSession.starts_at)).scalars())


def times(db, post) -> list[tuple[dt.datetime, dt.datetime, int, int]]:
    return [(s.starts_at, s.ends_at, s.capacity, s.minutes_credit) for s in sessions_of(db, post)]


def inbox_of(db, user) -> list[Message]:
    return list(db.session.execute(select(Message).where(Message.recipient_id == user.id)
                                   .order_by(Message.id)).scalars())


def refused(db, call, field=None) -> Invalid:
    with pytest.raises(Invalid) as info:
        call()
    db.session.rollback()
    assert info.value.details.get("field") == field, info.value.message
    return info.value


# --- adding sessions ---------------------------------------------------------------------------


def test_added_sessions_get_capacity_and_credit_and_can_be_claimed(db, tree, make_post,
                                                                   member_of):
    post = make_post(capacity=3, days=(3,))
    member = member_of(tree.member)
    operations.claim(tree.member, member, post)
    db.session.commit()
    text = f"{local_day(5)}\n{local_day(6)} 14:00-15:30"
    added = operations.add_sessions(tree.staff, post, text, T9, T11)
    db.session.commit()
    assert len(added) == 2
    assert times(db, post) == [
        (at(3, "09:00"), at(3, "11:00"), 3, 120),
        (at(5, "09:00"), at(5, "11:00"), 3, 120),
        (at(6, "14:00"), at(6, "15:30"), 3, 90),
    ]
    # Members claim them at once: "the rest of the post" now means the two new sessions.
    out = operations.claim(tree.member, member, post)
    db.session.commit()
    assert sorted(c.session_id for c in out.claims) == sorted(s.id for s in added)
    assert [s.claimed for s in sessions_of(db, post)] == [1, 1, 1]
    event = db.session.execute(select(AuditEvent).where(
        AuditEvent.action == "post.add_sessions")).scalar_one()
    assert event.actor_id == tree.staff.id and event.target_id == post.id
    assert event.detail["sessions"] == [s.id for s in added]


def test_added_sessions_follow_a_fixed_credit(db, tree, make_post):
    post = make_post(days=(3,), minutes_credit=60)
    operations.add_sessions(tree.staff, post,
                            f"{local_day(4)}\n{local_day(5)} 10:00-10:45", T9, T11)
    db.session.commit()
    assert [s.minutes_credit for s in sessions_of(db, post)] == [60, 60, 45]


def test_a_duplicate_start_is_refused_unless_that_session_was_cancelled(db, tree, make_post):
    post = make_post(days=(3, 4))
    before = times(db, post)
    e = refused(db, lambda: operations.add_sessions(
        tree.staff, post, f"{local_day(5)}\n{local_day(3)}", T9, T11), field="dates")
    assert "09:00" in str(e.message)
    # Two new lines with one start time (a different end) are refused as well.
    refused(db, lambda: operations.add_sessions(
        tree.staff, post, f"{local_day(6)} 14:00-15:00\n{local_day(6)} 14:00-16:00", T9, T11),
        field="dates")
    assert times(db, post) == before
    # The same start in another time of day is fine, and so is a cancelled session's time.
    operations.cancel_session(tree.staff, sessions_of(db, post)[0])
    db.session.commit()
    operations.add_sessions(tree.staff, post, f"{local_day(3)}\n{local_day(4)} 14:00-16:00",
                            T9, T11)
    db.session.commit()
    live = [(s.starts_at, s.cancelled) for s in sessions_of(db, post)]
    assert live == [(at(3, "09:00"), True), (at(3, "09:00"), False), (at(4, "09:00"), False),
                    (at(4, "14:00"), False)]


def test_past_dates_and_bad_lines_are_refused(db, tree, make_post):
    post = make_post(days=(3,))
    before = times(db, post)
    refused(db, lambda: operations.add_sessions(tree.staff, post, str(local_day(-1)), T9, T11),
            field="dates")
    # Today, at a time that has passed.
    with clock.freeze(at(0, "12:00")):
        refused(db, lambda: operations.add_sessions(tree.staff, post, str(local_day(0)),
                                                    T9, T11), field="dates")
    refused(db, lambda: operations.add_sessions(tree.staff, post, "明天", T9, T11),
            field="dates")
    refused(db, lambda: operations.add_sessions(tree.staff, post, "", T9, T11), field="dates")
    refused(db, lambda: operations.add_sessions(tree.staff, post, str(local_day(5)), T11, T9),
            field="end_time")
    assert times(db, post) == before


def test_max_sessions_counts_the_sessions_the_post_keeps(db, tree, make_post):
    post = make_post(days=range(1, MAX_SESSIONS + 1))
    assert len(sessions_of(db, post)) == MAX_SESSIONS
    e = refused(db, lambda: operations.add_sessions(
        tree.staff, post, str(local_day(MAX_SESSIONS + 1)), T9, T11), field="dates")
    assert str(MAX_SESSIONS) in str(e.message)
    assert len(sessions_of(db, post)) == MAX_SESSIONS
    # A cancelled session no longer counts.
    operations.cancel_session(tree.staff, sessions_of(db, post)[-1])
    db.session.commit()
    operations.add_sessions(tree.staff, post, str(local_day(MAX_SESSIONS + 1)), T9, T11)
    db.session.commit()
    assert len(sessions_of(db, post)) == MAX_SESSIONS + 1


def test_only_published_posts_get_sessions_added_and_only_by_their_staff(db, tree, make_post):
    draft = make_post(publish=False)
    refused(db, lambda: operations.add_sessions(tree.staff, draft, str(local_day(5)), T9, T11))
    closed = make_post()
    operations.close(tree.staff, closed)
    db.session.commit()
    refused(db, lambda: operations.add_sessions(tree.staff, closed, str(local_day(5)), T9, T11))
    post = make_post()
    for outsider in (tree.staff3, tree.member):
        with pytest.raises(Forbidden):
            operations.add_sessions(outsider, post, str(local_day(5)), T9, T11)
        db.session.rollback()
    assert [len(sessions_of(db, p)) for p in (draft, closed, post)] == [1, 1, 1]


# --- moving a session --------------------------------------------------------------------------


def test_moving_keeps_claims_and_the_waiting_list_and_tells_each_claimant(db, tree, make_post,
                                                                          make_member):
    post = make_post(capacity=2, days=(3,))
    session = post.sessions[0]
    a, b, withdrawn, waiting = make_member(), make_member(), make_member(), make_member()
    operations.claim(a.user, a, post)
    operations.withdraw(withdrawn.user, operations.claim(withdrawn.user, withdrawn,
                                                         post).claims[0])
    operations.claim(b.user, b, post)
    operations.claim(waiting.user, waiting, post, waitlist=True)
    db.session.commit()
    told = operations.move_session(tree.staff, session, at(4, "14:00"), at(4, "17:00"))
    db.session.commit()
    assert told == 2
    assert times(db, post) == [(at(4, "14:00"), at(4, "17:00"), 2, 180)]
    holders = set(db.session.execute(select(Claim.member_id).where(
        Claim.session_id == session.id, Claim.status == ClaimStatus.ACTIVE.value)).scalars())
    assert holders == {a.id, b.id}
    assert sessions_of(db, post)[0].claimed == 2
    assert db.session.execute(select(WaitlistEntry.status).where(
        WaitlistEntry.member_id == waiting.id)).scalar_one() == "waiting"
    for member in (a, b):
        [msg] = inbox_of(db, member.user)
        assert post.title in msg.subject
        assert f"{local_day(4)} 14:00-17:00" in msg.body
        assert f"{local_day(3)} 09:00" in msg.body
        assert "取消认领" in msg.body  # they may withdraw
        assert msg.link == "/posts/mine"
    assert inbox_of(db, waiting.user) == [] and inbox_of(db, withdrawn.user) == []
    event = db.session.execute(select(AuditEvent).where(
        AuditEvent.action == "post_session.move")).scalar_one()
    assert event.target_id == session.id and event.detail["claims"] == 2
    # Each further move is told again, a move back to an earlier time too.
    with clock.freeze(clock.now() + dt.timedelta(minutes=1)):
        operations.move_session(tree.staff, session, at(5, "09:00"), at(5, "10:00"))
        db.session.commit()
    with clock.freeze(clock.now() + dt.timedelta(minutes=2)):
        operations.move_session(tree.staff, session, at(4, "14:00"), at(4, "17:00"))
        db.session.commit()
    bodies = [m.body for m in inbox_of(db, a.user)]
    assert len(bodies) == 3
    assert f"{local_day(5)} 09:00-10:00" in bodies[1] and f"{local_day(4)} 14:00" in bodies[2]
    assert times(db, post) == [(at(4, "14:00"), at(4, "17:00"), 2, 180)]


def test_moved_session_credit_follows_the_post_rule(db, tree, make_post):
    fixed = make_post(days=(3,), minutes_credit=60)
    operations.move_session(tree.staff, fixed.sessions[0], at(3, "13:00"), at(3, "16:00"))
    db.session.commit()
    assert sessions_of(db, fixed)[0].minutes_credit == 60  # kept
    operations.move_session(tree.staff, fixed.sessions[0], at(3, "13:00"), at(3, "13:30"))
    db.session.commit()
    assert sessions_of(db, fixed)[0].minutes_credit == 30  # never more than the length
    by_length = make_post(days=(3,))
    operations.move_session(tree.staff, by_length.sessions[0], at(3, "13:00"), at(3, "13:45"))
    db.session.commit()
    assert sessions_of(db, by_length)[0].minutes_credit == 45


def test_moving_is_refused_for_started_cancelled_past_or_clashing_sessions(db, tree, make_post,
                                                                          member_of):
    post = make_post(days=(3, 4, 5))
    first, second, third = post.sessions
    operations.claim(tree.member, member_of(tree.member), post, session=first)
    db.session.commit()
    before = times(db, post)
    # Bad new times.
    refused(db, lambda: operations.move_session(tree.staff, first, at(-1, "09:00"),
                                                at(-1, "11:00")), field="day")
    refused(db, lambda: operations.move_session(tree.staff, first, at(6, "11:00"),
                                                at(6, "09:00")), field="end_time")
    refused(db, lambda: operations.move_session(tree.staff, first, at(6, "09:00"),
                                                at(8, "09:00")), field="end_time")
    refused(db, lambda: operations.move_session(tree.staff, first, at(4, "09:00"),
                                                at(4, "10:00")), field="day")  # = second
    refused(db, lambda: operations.move_session(tree.staff, first, at(3, "09:00"),
                                                at(3, "11:00")), field="day")  # unchanged
    # A session that has started.
    with clock.freeze(first.starts_at + dt.timedelta(minutes=1)):
        refused(db, lambda: operations.move_session(tree.staff, first, at(6, "09:00"),
                                                    at(6, "11:00")))
    # A member has checked in already (check-in opens before the start).
    with clock.freeze(first.starts_at - dt.timedelta(minutes=30)):
        operations.check_in(tree.member, member_of(tree.member), qr.token_for(first))
        db.session.commit()
        refused(db, lambda: operations.move_session(tree.staff, first, at(6, "09:00"),
                                                    at(6, "11:00")))
    # A cancelled session.
    operations.cancel_session(tree.staff, third)
    db.session.commit()
    refused(db, lambda: operations.move_session(tree.staff, third, at(6, "09:00"),
                                                at(6, "11:00")))
    assert [t[:2] for t in times(db, post)] == [t[:2] for t in before]
    assert inbox_of(db, tree.member) == []
    # Staff of another community may not move it.
    with pytest.raises(Forbidden):
        operations.move_session(tree.staff3, second, at(6, "09:00"), at(6, "11:00"))


def test_drafts_change_their_sessions_on_the_edit_form_only(db, tree, make_post):
    draft = make_post(publish=False, days=(3,))
    refused(db, lambda: operations.move_session(tree.staff, draft.sessions[0], at(6, "09:00"),
                                                at(6, "11:00")))
    operations.update_post(tree.staff, draft, operations.PostData(
        kind=draft.kind, title=draft.title, capacity=4,
        schedule=Schedule("dates", T9, T11, dates_text=f"{local_day(6)}\n{local_day(7)}")))
    db.session.commit()
    assert times(db, draft) == [(at(6, "09:00"), at(6, "11:00"), 4, 120),
                                (at(7, "09:00"), at(7, "11:00"), 4, 120)]


# --- pages -------------------------------------------------------------------------------------


def count_sessions(db) -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(PostSession)).scalar_one()


def test_add_sessions_through_the_post_page(client, db, tree, make_post, member_of):
    post = make_post(days=(3,))
    client.login(tree.staff)
    page = client.get(f"/posts/manage/{post.id}")
    assert page.status_code == 200
    assert "添加场次" in page.text and f'action="/posts/manage/{post.id}/sessions"' in page.text
    url = f"/posts/manage/{post.id}/sessions"
    form = {"dates": str(local_day(5)), "start_time": "14:00", "end_time": "16:00"}
    r = client.post(url, data=form)
    assert r.status_code == 302 and r.location.endswith(f"/posts/manage/{post.id}")
    assert times(db, post)[1] == (at(5, "14:00"), at(5, "16:00"), 5, 120)
    # Errors come back on the form, in Chinese, and nothing is written.
    for data, words in (({**form, "dates": str(local_day(-2))}, "未来"),
                        (form, "两个场次"),
                        ({**form, "dates": "下周三"}, "第 1 行"),
                        ({**form, "dates": ""}, "必填")):
        r = client.post(url, data=data)
        assert r.status_code == 400, data
        assert words in r.text, (words, data)
        assert 'id="add-sessions" open' in r.text
    assert count_sessions(db) == 2
    # Members see the new session on the post at once.
    client.logout()
    client.login(tree.member)
    detail = client.get(f"/posts/{post.id}")
    assert str(local_day(5)) in detail.text
    r = client.post(f"/posts/{post.id}/claim",
                    data={"session_id": str(sessions_of(db, post)[1].id)})
    assert r.status_code == 302
    assert sessions_of(db, post)[1].claimed == 1


def test_move_a_session_through_its_page(client, db, tree, make_post, member_of):
    post = make_post(days=(3,))
    session = post.sessions[0]
    operations.claim(tree.member, member_of(tree.member), post)
    db.session.commit()
    client.login(tree.staff)
    url = f"/posts/manage/sessions/{session.id}"
    page = client.get(url)
    assert "调整时间" in page.text and f'value="{local_day(3)}"' in page.text
    form = {"day": str(local_day(4)), "start_time": "15:00", "end_time": "17:30"}
    for data, words in (({**form, "end_time": "14:00"}, "结束时间必须晚于开始时间"),
                        ({**form, "day": str(local_day(-1))}, "未来"),
                        ({**form, "day": ""}, "必填")):
        r = client.post(f"{url}/move", data=data)
        assert r.status_code == 400, data
        assert words in r.text, (words, data)
        assert 'id="move-session" open' in r.text
    assert times(db, post) == [(at(3, "09:00"), at(3, "11:00"), 5, 120)]
    assert inbox_of(db, tree.member) == []
    r = client.post(f"{url}/move", data=form)
    assert r.status_code == 302 and r.location.endswith(url)
    assert times(db, post) == [(at(4, "15:00"), at(4, "17:30"), 5, 150)]
    [msg] = inbox_of(db, tree.member)
    assert f"{local_day(4)} 15:00-17:30" in msg.body
    # Once started, the page offers no move, and a move posted anyway is refused.
    with clock.freeze(at(4, "15:05")):
        assert "调整时间" not in client.get(url).text
        r = client.post(f"{url}/move", data={**form, "day": str(local_day(6))})
        assert r.status_code == 400 and "已开始的场次不能调整时间" in r.text
    assert times(db, post) == [(at(4, "15:00"), at(4, "17:30"), 5, 150)]


def test_draft_post_page_offers_the_edit_form_not_the_session_forms(client, db, tree,
                                                                    make_post):
    draft = make_post(publish=False, days=(3,))
    client.login(tree.staff)
    page = client.get(f"/posts/manage/{draft.id}")
    assert "添加场次" not in page.text
    assert "调整时间" not in client.get(f"/posts/manage/sessions/{draft.sessions[0].id}").text
    r = client.post(f"/posts/manage/{draft.id}/sessions",
                    data={"dates": str(local_day(5)), "start_time": "09:00", "end_time": "11:00"})
    assert r.status_code == 400 and "编辑页面" in r.text
    assert count_sessions(db) == 1


def test_staff_of_another_community_get_404_and_change_nothing(client, db, tree, make_post,
                                                              member_of):
    post = make_post(days=(3,))
    session = post.sessions[0]
    operations.claim(tree.member, member_of(tree.member), post)
    db.session.commit()
    client.login(tree.staff3)
    r = client.post(f"/posts/manage/{post.id}/sessions",
                    data={"dates": str(local_day(5)), "start_time": "09:00", "end_time": "11:00"})
    assert r.status_code == 404
    r = client.post(f"/posts/manage/sessions/{session.id}/move",
                    data={"day": str(local_day(4)), "start_time": "09:00", "end_time": "11:00"})
    assert r.status_code == 404
    assert times(db, post) == [(at(3, "09:00"), at(3, "11:00"), 5, 120)]
    assert inbox_of(db, tree.member) == []


def test_pages_list_coming_sessions_before_ended_ones(client, db, tree, make_post, member_of):
    post = make_post(days=(1, 2, 3), capacity=5)
    db.session.commit()
    first, second, third = sessions_of(db, post)
    # Two days on, the first two sessions have ended.
    with clock.freeze(third.starts_at - dt.timedelta(hours=2)):
        from timebank.posts import queries
        order = [s.id for s in queries.session_list(post, coming_first=True)]
        assert order == [third.id, second.id, first.id]
        assert [s.id for s in queries.session_list(post)] == [first.id, second.id, third.id]
        client.login(tree.member)
        page = client.get(f"/posts/{post.id}").text
        ids = [page.find(f'data-session="{s.id}"') for s in (third, second, first)]
        assert -1 not in ids and ids == sorted(ids), ids
