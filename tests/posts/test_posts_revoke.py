"""Withdrawing a verification: the deposit is reversed, the record marked, exactly once."""
from __future__ import annotations

import datetime as dt
import pytest
from posts_fixtures import staff_in_parallel
from sqlalchemy import func, select

from timebank.core import clock
from timebank.core.errors import Invalid
from timebank.ledger import operations as ledger
from timebank.ledger.errors import InsufficientBalance
from timebank.ledger.models import Transaction
from timebank.posts import operations
from timebank.posts.models import RecordStatus, ServiceRecord


def figures(db, member):
    from timebank.ledger.queries import member_figures

    db.session.expire_all()
    f = member_figures(member)
    return f.balance_minutes, f.service_minutes


def reversals(db) -> int:
    return db.session.execute(select(func.count()).select_from(Transaction).where(
        Transaction.kind == "reversal")).scalar_one()


@pytest.fixture
def verified(db, tree, member_of):
    """A verified 90-minute report of ``tree.member`` (community C1), deposited."""
    member = member_of(tree.member)
    day = clock.today() - dt.timedelta(days=2)
    record = operations.report_service(
        tree.member, member, started_at=clock.local_datetime(day, dt.time(9)),
        ended_at=clock.local_datetime(day, dt.time(10, 30)), description="陪老人就医")
    db.session.commit()
    assert operations.verify(tree.staff, record) is True
    db.session.commit()
    assert figures(db, member) == (90, 90)
    return record


def test_revoke_reverses_the_deposit_and_tells_the_member(db, tree, verified, member_of):
    from timebank.inbox.models import Message

    member = member_of(tree.member)
    assert operations.revoke(tree.staff, verified, "重复登记") is True
    db.session.commit()
    record = db.session.get(ServiceRecord, verified.id)
    assert record.status == RecordStatus.REVOKED
    assert record.revoke_reason == "重复登记" and record.revoked_by_id == tree.staff.id
    assert figures(db, member) == (0, 0)
    assert reversals(db) == 1
    subjects = db.session.execute(select(Message.subject).where(
        Message.recipient_id == tree.member.id)).scalars().all()
    assert any("撤销" in s for s in subjects), subjects
    # Again: nothing more happens.
    assert operations.revoke(tree.staff, record, "再次") is False
    db.session.commit()
    assert reversals(db) == 1 and figures(db, member) == (0, 0)
    # A withdrawn record cannot be verified again.
    with pytest.raises(Invalid):
        operations.verify(tree.staff, record)


def test_revoke_needs_a_reason_and_a_verified_record(db, tree, verified, member_of):
    with pytest.raises(Invalid):
        operations.revoke(tree.staff, verified, "  ")
    member = member_of(tree.member)
    day = clock.today() - dt.timedelta(days=3)
    pending = operations.report_service(
        tree.member, member, started_at=clock.local_datetime(day, dt.time(9)),
        ended_at=clock.local_datetime(day, dt.time(10)), description="x")
    db.session.commit()
    with pytest.raises(Invalid):
        operations.revoke(tree.staff, pending, "理由")
    db.session.rollback()
    assert reversals(db) == 0


def test_spent_hours_cannot_be_taken_back_and_nothing_changes(db, tree, verified, member_of):
    member = member_of(tree.member)
    ledger.redeem(tree.staff, member, 60, reason="助餐")
    db.session.commit()
    with pytest.raises(InsufficientBalance):
        operations.revoke(tree.staff, verified, "登记错误")
    db.session.rollback()
    assert db.session.get(ServiceRecord, verified.id).status == RecordStatus.VERIFIED
    assert reversals(db) == 0
    assert figures(db, member) == (30, 90)


def test_reversing_the_deposit_on_the_ledger_page_marks_the_record(client, db, tree, verified):
    tx_id = verified.transaction_id
    client.login(tree.staff)
    r = client.post(f"/ledger/transactions/{tx_id}/reverse", data={"reverse-reason": "录入错误"},
                    follow_redirects=True)
    assert r.status_code == 200, r.text
    record = db.session.get(ServiceRecord, verified.id)
    db.session.refresh(record)
    assert record.status == RecordStatus.REVOKED and record.revoke_reason == "录入错误"


def test_revoke_through_the_records_page(client, db, tree, verified, member_of):
    client.login(tree.staff)
    page = client.get("/posts/manage/records?status=verified")
    assert f"/posts/manage/records/{verified.id}/revoke" in page.text
    r = client.post(f"/posts/manage/records/{verified.id}/revoke", data={"reason": ""},
                    follow_redirects=True)
    assert "请说明撤销认定的理由" in r.text or "理由" in r.text
    assert db.session.get(ServiceRecord, verified.id).status == RecordStatus.VERIFIED
    r = client.post(f"/posts/manage/records/{verified.id}/revoke", data={"reason": "时长有误"},
                    follow_redirects=True)
    assert r.status_code == 200
    db.session.expire_all()
    assert db.session.get(ServiceRecord, verified.id).status == RecordStatus.REVOKED
    assert figures(db, member_of(tree.member)) == (0, 0)


def test_staff_of_another_community_cannot_revoke(client, db, tree, verified):
    client.login(tree.staff3)
    r = client.post(f"/posts/manage/records/{verified.id}/revoke", data={"reason": "x"})
    assert r.status_code == 404
    assert db.session.get(ServiceRecord, verified.id).status == RecordStatus.VERIFIED


def test_parallel_revocations_reverse_once(app, db, tree, verified, member_of):
    record_id = verified.id
    staff_ids = [tree.staff.id, tree.street_admin.id, tree.district_admin.id] * 2
    results = staff_in_parallel(app, staff_ids, lambda user: operations.revoke(
        user, db.session.get(ServiceRecord, record_id), "重复"))
    assert results == ["False"] * 5 + ["True"], results
    assert reversals(db) == 1
    assert figures(db, member_of(tree.member)) == (0, 0)
