"""Check-in by QR token, attendance, service records, flags and verification into the ledger."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from itsdangerous import URLSafeSerializer
from posts_fixtures import staff_in_parallel
from sqlalchemy import func, select

from timebank.core import clock
from timebank.core.errors import Conflict, Forbidden
from timebank.posts import operations, qr
from timebank.posts.errors import BadToken, NeedsReview, TokenExpired
from timebank.posts.models import Claim, ServiceRecord


def deposits_for(db, record_id: int) -> int:
    from timebank.ledger.models import Transaction

    return db.session.execute(select(func.count()).select_from(Transaction).where(
        Transaction.source_type == "service_record", Transaction.source_id == record_id,
        Transaction.kind == "deposit")).scalar_one()


def balance(db, member) -> int:
    from timebank.ledger.queries import member_figures

    db.session.expire_all()
    return member_figures(member).balance_minutes


@pytest.fixture
def claimed(db, make_post, member_of, tree):
    """A 09:00-11:00 session tomorrow (120 minutes credit) claimed by ``tree.member``."""
    post = make_post(days=(1,), capacity=5)
    member = member_of(tree.member)
    claim = operations.claim(tree.member, member, post).claims[0]
    db.session.commit()
    return claim


def at(session, minutes: int):
    """Frozen clock ``minutes`` after the session's start."""
    return clock.freeze(session.starts_at + dt.timedelta(minutes=minutes))


def test_check_in_and_out_through_the_page_makes_a_capped_record(client, db, tree, claimed):
    session = claimed.session
    token = qr.token_for(session)
    client.login(tree.member)
    with at(session, -5):
        page = client.get(f"/posts/checkin/{token}")
        assert page.status_code == 200 and "签到" in page.text
        r = client.post(f"/posts/checkin/{token}", data={"action": "check_in"},
                        follow_redirects=True)
        assert "签到成功" in r.text
    with at(session, 125):
        r = client.post(f"/posts/checkin/{token}", data={"action": "check_out"},
                        follow_redirects=True)
        assert "签退成功" in r.text
    record = db.session.execute(select(ServiceRecord)).scalar_one()
    # 130 minutes present, the session credits 120.
    assert (record.minutes, record.status, record.flags) == (120, "pending", [])
    assert record.claim_id == claimed.id and record.community_id == tree.C1.id


def test_foreign_forged_and_expired_tokens_are_refused(client, db, tree, claimed, make_post,
                                                       member_of):
    member = member_of(tree.member)
    other_post = make_post(days=(1,))
    foreign = qr.token_for(other_post.sessions[0])  # a real code, for a session not claimed
    session = claimed.session
    with at(session, 0):
        with pytest.raises(Forbidden):
            operations.check_in(tree.member, member, foreign)
        forged = URLSafeSerializer("another-secret", salt="posts.checkin.v1").dumps(
            [session.id, int(session.ends_at.timestamp()) + 3600])
        with pytest.raises(BadToken):
            operations.check_in(tree.member, member, forged)
        with pytest.raises(BadToken):
            operations.check_in(tree.member, member, qr.token_for(session)[:-2] + "xx")
        client.login(tree.member)
        page = client.get(f"/posts/checkin/{foreign}")
        # Not claimed, but with free places: the page offers a walk-in (tests/scan).
        assert page.status_code == 200 and 'id="do-walk-in"' in page.text
    token = qr.token_for(session)
    with clock.freeze(session.ends_at + qr.GRACE + dt.timedelta(minutes=1)):
        with pytest.raises(TokenExpired):
            operations.check_in(tree.member, member, token)
        r = client.post(f"/posts/checkin/{token}", data={"action": "check_in"},
                        follow_redirects=True)
        assert "已过期" in r.text
    assert db.session.execute(select(Claim.checked_in_at)).scalar_one() is None


def test_check_in_opens_shortly_before_the_start(db, tree, claimed, member_of):
    with at(claimed.session, -180), pytest.raises(Conflict):
        operations.check_in(tree.member, member_of(tree.member),
                            qr.token_for(claimed.session))


def test_far_check_in_is_flagged_and_not_verified_in_bulk(client, db, tree, claimed, member_of):
    member = member_of(tree.member)
    token = qr.token_for(claimed.session)
    with at(claimed.session, 90):
        operations.check_in(tree.member, member, token)
        db.session.commit()
    with at(claimed.session, 120):
        result = operations.check_in(tree.member, member, token)
        db.session.commit()
    record = result.record
    assert record.flags == ["far_checkin"] and record.minutes == 30
    client.login(tree.staff)
    listing = client.get("/posts/manage/records")
    assert "签到时间与场次开始时间相差较大" in listing.text
    assert f'data-record="{record.id}"' in client.get(
        "/posts/manage/records?status=pending&flagged=1").text
    assert f'data-record="{record.id}"' not in client.get(
        "/posts/manage/records?status=pending&flagged=0").text
    r = client.post("/posts/manage/records/verify", data={"record_ids": [record.id]},
                    follow_redirects=True)
    assert "有疑点的记录未核实" in r.text
    db.session.expire_all()
    assert db.session.get(ServiceRecord, record.id).status == "pending"
    with pytest.raises(NeedsReview):
        operations.verify(tree.staff, db.session.get(ServiceRecord, record.id))
    db.session.rollback()
    r = client.post(f"/posts/manage/records/{record.id}/verify", data={"acknowledge": "1"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(ServiceRecord, record.id).status == "verified"
    assert balance(db, member) == 30


def test_staff_mark_attendance_for_all_and_no_shows(client, db, tree, make_post, make_member):
    post = make_post(days=(1,), capacity=5)
    session = post.sessions[0]
    members = [make_member() for _ in range(3)]
    claims = [operations.claim(m.user, m, post).claims[0] for m in members]
    db.session.commit()
    client.login(tree.staff)
    with at(session, -10):
        r = client.post(f"/posts/manage/sessions/{session.id}/attendance",
                        data={"claim_ids": [c.id for c in claims], "present": "1"},
                        follow_redirects=True)
        assert "场次开始后才能登记出勤" in r.text
    with at(session, 130):
        r = client.post(f"/posts/manage/sessions/{session.id}/attendance",
                        data={"claim_ids": [claims[0].id, claims[1].id], "present": "1"})
        assert r.status_code == 302
        r = client.post(f"/posts/manage/sessions/{session.id}/attendance",
                        data={"claim_ids": [claims[2].id], "present": "0"})
        page = client.get(f"/posts/manage/sessions/{session.id}")
        assert page.status_code == 200 and "<svg" in page.text
    db.session.expire_all()
    records = db.session.execute(select(ServiceRecord).order_by(ServiceRecord.id)).scalars().all()
    assert [(r.claim_id, r.minutes) for r in records] == [(claims[0].id, 120),
                                                          (claims[1].id, 120)]
    assert [db.session.get(Claim, c.id).attendance for c in claims] == [
        "attended", "attended", "no_show"]
    r = client.post("/posts/manage/records/verify",
                    data={"record_ids": [r.id for r in records]}, follow_redirects=True)
    assert "已核实 2 条记录" in r.text
    assert [balance(db, m) for m in members] == [120, 120, 0]


def test_double_verification_deposits_once(db, tree, claimed, member_of):
    member = member_of(tree.member)
    with at(claimed.session, 130):
        operations.mark_attendance(tree.staff, claimed.session, [claimed.id], present=True)
        db.session.commit()
    record = db.session.execute(select(ServiceRecord)).scalar_one()
    assert operations.verify(tree.staff, record) is True
    db.session.commit()
    assert operations.verify(tree.staff, record) is False
    db.session.commit()
    assert deposits_for(db, record.id) == 1
    assert balance(db, member) == 120


def test_parallel_verifications_deposit_once(app, db, tree, claimed, member_of, make_user):
    member = member_of(tree.member)
    with at(claimed.session, 130):
        operations.mark_attendance(tree.staff, claimed.session, [claimed.id], present=True)
        db.session.commit()
    record_id = db.session.execute(select(ServiceRecord.id)).scalar_one()
    staff_ids = [tree.staff.id, tree.street_admin.id, tree.district_admin.id] * 3
    results = staff_in_parallel(app, staff_ids, lambda user: operations.verify(
        user, db.session.get(ServiceRecord, record_id)))
    assert results == ["False"] * 8 + ["True"], results
    assert deposits_for(db, record_id) == 1
    assert balance(db, member) == 120


def test_overlapping_and_long_days_are_flagged(db, tree, member_of):
    member = member_of(tree.member)
    day = clock.today() - dt.timedelta(days=3)
    first = operations.report_service(
        tree.member, member, started_at=clock.local_datetime(day, dt.time(8)),
        ended_at=clock.local_datetime(day, dt.time(16)), description="社区义诊")
    assert first.flags == []
    second = operations.report_service(
        tree.member, member, started_at=clock.local_datetime(day, dt.time(15)),
        ended_at=clock.local_datetime(day, dt.time(20)), description="夜间巡逻")
    db.session.commit()
    assert second.flags == ["long_day", "overlap"]
    db.session.expire_all()
    assert db.session.get(ServiceRecord, first.id).flags == ["overlap"]
    out = operations.verify_many(tree.staff, [db.session.get(ServiceRecord, first.id),
                                              db.session.get(ServiceRecord, second.id)])
    assert (out.verified, out.flagged) == (0, 2)


def test_member_reports_service_and_only_their_community_reviews_it(client, db, tree,
                                                                    member_of):
    client.login(tree.member)
    day = clock.today() - dt.timedelta(days=1)
    bad = client.post("/posts/report", data={"day": day.isoformat(), "start_time": "10:00",
                                             "end_time": "09:00", "kind_id": "0",
                                             "description": "帮邻居修水管"})
    assert bad.status_code == 400 and "结束时间必须晚于开始时间" in bad.text
    assert db.session.execute(select(func.count()).select_from(ServiceRecord)).scalar_one() == 0
    r = client.post("/posts/report", data={"day": day.isoformat(), "start_time": "09:00",
                                           "end_time": "10:30", "kind_id": "0",
                                           "description": "帮邻居修水管"})
    assert r.status_code == 302
    record = db.session.execute(select(ServiceRecord)).scalar_one()
    assert (record.source, record.minutes, record.community_id) == ("reported", 90, tree.C1.id)
    client.logout()
    client.login(tree.staff3)
    assert client.post(f"/posts/manage/records/{record.id}/verify").status_code == 404
    assert "帮邻居修水管" not in client.get("/posts/manage/records").text
    client.logout()
    client.login(tree.staff)
    r = client.post(f"/posts/manage/records/{record.id}/reject", data={"reason": "时间不符"})
    assert r.status_code == 302
    from timebank.inbox.models import Message

    msg = db.session.execute(select(Message).where(Message.recipient_id == tree.member.id)
                             ).scalar_one()
    assert "时间不符" in msg.body


def test_card_shows_hours_and_the_xlsx_neutralises_formulas(client, db, tree, make_post,
                                                            member_of):
    import io

    from openpyxl import load_workbook

    post = make_post(days=(1,), title="=HYPERLINK(\"http://evil\")")
    member = member_of(tree.member)
    claim = operations.claim(tree.member, member, post).claims[0]
    db.session.commit()
    with at(claim.session, 130):
        operations.mark_attendance(tree.staff, claim.session, [claim.id], present=True)
        operations.verify(tree.staff, db.session.execute(select(ServiceRecord)).scalar_one())
        db.session.commit()
    client.login(tree.member)
    page = client.get("/posts/card")
    assert page.status_code == 200
    assert re.search(r'id="verified-hours">2<', page.text)
    assert re.search(r'id="balance-hours">2<', page.text)
    x = client.get("/posts/card.xlsx")
    assert x.status_code == 200 and x.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(io.BytesIO(x.data)).active
    values = [c.value for row in ws.iter_rows() for c in row if c.value is not None]
    assert "'=HYPERLINK(\"http://evil\")" in values
    assert not any(isinstance(v, str) and v.startswith("=") for v in values)
    # The member's unit liaison and the community staff may read the card; others may not.
    client.logout()
    client.login(tree.liaison)
    assert client.get(f"/posts/card/{member.id}").status_code == 200
    client.logout()
    client.login(tree.staff3)
    assert client.get(f"/posts/card/{member.id}").status_code == 404
    assert client.get(f"/posts/card/{member.id}.xlsx").status_code == 404


def test_claims_are_rate_limited_per_user(app, client, tree, make_post):
    app.config["POSTS_CLAIM_LIMIT"] = "2 per minute"
    post = make_post(days=(1, 2, 3))
    client.login(tree.member)
    codes = [client.post(f"/posts/{post.id}/claim", data={"session_id": s.id}).status_code
             for s in post.sessions]
    assert codes == [302, 302, 429]


def test_bulk_verification_takes_the_same_statements_for_any_number(db, tree, make_member):
    """No per-record queries: verifying 6 records costs what verifying 2 does."""
    from sqlalchemy import event

    def reported(n, day_offset):
        day = clock.today() - dt.timedelta(days=day_offset)
        out = []
        for _ in range(n):
            m = make_member()
            out.append(operations.report_service(
                m.user, m, started_at=clock.local_datetime(day, dt.time(9)),
                ended_at=clock.local_datetime(day, dt.time(10)), description="助老"))
        db.session.commit()
        return [r.id for r in out]

    def statements(ids):
        seen = []
        listener = lambda *a: seen.append(a[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            records = db.session.execute(select(ServiceRecord).where(
                ServiceRecord.id.in_(ids))).scalars().all()
            seen.clear()
            out = operations.verify_many(tree.staff, records)
            db.session.commit()
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert out.verified == len(ids)
        return len(seen)

    small, large = reported(2, 3), reported(6, 4)
    assert statements(large) == statements(small)
    assert all(db.session.get(ServiceRecord, i).transaction_id for i in small + large)


def test_records_page_links_only_the_members_the_staff_may_open(client, db, tree, member_of):
    """A member of another community who served here is listed by name, not linked to a card
    the staff would get a 404 for."""
    import datetime as dt

    from tests.service_records import served

    here, visitor = member_of(tree.member), member_of(tree.member3)
    start = clock.now() - dt.timedelta(days=1)
    served(tree.staff, here, start, 60, verify=False)
    record = served(tree.staff, visitor, start, 90, verify=False)
    record.community_id = tree.C1.id  # served in C1, lives in C3
    db.session.commit()
    client.login(tree.staff)
    page = client.get("/posts/manage/records").text
    assert f"/posts/card/{here.id}" in page
    assert f"/posts/card/{visitor.id}" not in page and "党员丙" in page and "（丙社区党员）" in page
    for href in re.findall(r'href="(/posts/card/\d+)"', page):
        assert client.get(href).status_code == 200
