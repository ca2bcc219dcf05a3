"""The exchange by outcomes: stock held and returned, balances redeemed and refunded."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select
from tests.parallel import run_parallel

from timebank.audit.models import AuditEvent
from timebank.core.errors import Forbidden, Invalid
from timebank.exchange import operations
from timebank.exchange.models import ExchangeRequest, RequestStatus
from timebank.ledger.models import Transaction, TxKind


def _tx_count(db) -> int:
    return db.session.execute(select(func.count()).select_from(Transaction)).scalar_one()


def test_fifty_parallel_requests_for_the_last_three_units_grant_exactly_three(
        app, db, make_item, make_member, fund, stock):
    """The race: 50 members request an item with 3 left at the same moment, each in its own
    connection and transaction. Exactly 3 win; the stock ends at 0, never below."""
    item = make_item(stock=3)
    item_id = item.id
    members = [make_member() for _ in range(50)]
    for m in members:
        fund(m, 60)
    member_ids = [m.id for m in members]

    def request_as(member_id):
        def job():
            from timebank.exchange.models import ExchangeItem
            from timebank.members.models import Member

            member = db.session.get(Member, member_id)
            return operations.request_item(member.user, member,
                                           db.session.get(ExchangeItem, item_id))
        return job

    results = run_parallel(app, db, [request_as(m) for m in member_ids])
    won = [r for r in results if isinstance(r, ExchangeRequest)]
    lost = [r for r in results if isinstance(r, operations.OutOfStock)]
    assert len(won) == 3
    assert len(lost) == 47, [r for r in results if not isinstance(
        r, (ExchangeRequest, operations.OutOfStock))]
    assert stock(item_id) == 0
    assert db.session.execute(select(func.count()).select_from(ExchangeRequest).where(
        ExchangeRequest.item_id == item_id)).scalar_one() == 3


def test_unlimited_service_keeps_no_count(db, make_item, make_member, fund, stock):
    item = make_item(stock=None, kind="service", title="上门理发")
    for _ in range(3):
        m = make_member()
        fund(m, 60)
        operations.request_item(m.user, m, item)
    db.session.commit()
    assert stock(item.id) is None


def test_fulfil_redeems_and_refund_by_reversal_restores_balance_and_stock(
        db, tree, make_item, member_of, fund, balance, stock):
    member = member_of(tree.member)
    fund(member, 180)
    item = make_item(stock=2, price=90)
    req = operations.request_item(tree.member, member, item)
    db.session.commit()
    assert stock(item.id) == 1
    assert balance(member) == 180  # held, not yet paid
    tx = operations.fulfil_request(tree.staff, req)
    db.session.commit()
    assert tx.kind == TxKind.REDEMPTION
    assert balance(member) == 90
    req = db.session.get(ExchangeRequest, req.id)
    assert req.status == RequestStatus.FULFILLED and req.transaction_id == tx.id
    assert stock(item.id) == 1

    reversal = operations.refund_request(tree.staff, req, "物品有损坏")
    db.session.commit()
    assert balance(member) == 180
    assert stock(item.id) == 2
    req = db.session.get(ExchangeRequest, req.id)
    assert req.status == RequestStatus.REFUNDED
    assert req.reversal_id == reversal.id
    assert db.session.get(Transaction, reversal.id).reverses_id == tx.id
    actions = set(db.session.execute(select(AuditEvent.action).where(
        AuditEvent.target_type == "exchange_request", AuditEvent.target_id == req.id)).scalars())
    assert actions == {"exchange.request_fulfil", "exchange.request_refund"}
    # A refund twice is refused and changes nothing more.
    with pytest.raises(operations.RequestNotOpen):
        operations.refund_request(tree.staff, req, "再退一次")
    db.session.rollback()
    assert balance(member) == 180 and stock(item.id) == 2


def test_refused_request_changes_nothing_but_the_stock_it_held(
        db, tree, make_item, member_of, fund, balance, stock):
    member = member_of(tree.member)
    fund(member, 120)
    item = make_item(stock=1)
    before_tx = _tx_count(db)
    req = operations.request_item(tree.member, member, item)
    db.session.commit()
    assert stock(item.id) == 0
    operations.refuse_request(tree.staff, req, "本周暂停发放")
    db.session.commit()
    assert stock(item.id) == 1
    assert balance(member) == 120
    assert _tx_count(db) == before_tx
    req = db.session.get(ExchangeRequest, req.id)
    assert req.status == RequestStatus.REFUSED and req.note == "本周暂停发放"
    with pytest.raises(operations.RequestNotOpen):
        operations.fulfil_request(tree.staff, req)
    db.session.rollback()
    assert balance(member) == 120 and stock(item.id) == 1


def test_short_balance_refuses_fulfilment_and_changes_nothing(
        db, tree, make_item, member_of, fund, balance, stock):
    from timebank.ledger import operations as ledger

    member = member_of(tree.member)
    fund(member, 90)
    item = make_item(stock=1, price=60)
    req = operations.request_item(tree.member, member, item)
    # The member spends hours elsewhere before collecting.
    ledger.redeem(tree.staff, member, 60, reason="上门理发")
    db.session.commit()
    before_tx = _tx_count(db)
    with pytest.raises(operations.BalanceShort) as e:
        operations.fulfil_request(tree.staff, req)
    assert "0.5" in str(e.value.message) and "1" in str(e.value.message)
    db.session.rollback()
    assert balance(member) == 30
    assert stock(item.id) == 0  # the member's request still holds its unit
    assert _tx_count(db) == before_tx
    assert db.session.get(ExchangeRequest, req.id).status == RequestStatus.REQUESTED


def test_member_cancel_returns_stock_and_cannot_cancel_twice(db, tree, make_item, member_of,
                                                             fund, stock):
    member = member_of(tree.member)
    fund(member, 60)
    item = make_item(stock=1)
    req = operations.request_item(tree.member, member, item)
    db.session.commit()
    operations.cancel_request(tree.member, req)
    db.session.commit()
    assert stock(item.id) == 1
    with pytest.raises(operations.RequestNotOpen):
        operations.cancel_request(tree.member, req)


def test_street_items_open_to_the_street_only(db, tree, make_item, member_of, make_member,
                                              fund):
    item = make_item(org=tree.S1, stock=5)
    other_community_same_street = make_member(community=tree.C2)
    fund(other_community_same_street, 120)
    fund(member_of(tree.member3), 120)
    operations.request_item(other_community_same_street.user, other_community_same_street, item)
    m3 = member_of(tree.member3)
    with pytest.raises(operations.ItemUnavailable):
        operations.request_item(tree.member3, m3, item)
    community_item = make_item(org=tree.C1)
    with pytest.raises(operations.ItemUnavailable):
        operations.request_item(other_community_same_street.user, other_community_same_street,
                                community_item)


def test_inactive_or_foreign_staff_refused(db, tree, make_item, member_of, fund):
    member = member_of(tree.member)
    fund(member, 60)
    hidden = make_item(active=False)
    with pytest.raises(operations.ItemUnavailable):
        operations.request_item(tree.member, member, hidden)
    item = make_item()
    req = operations.request_item(tree.member, member, item)
    db.session.commit()
    with pytest.raises(Forbidden):
        operations.fulfil_request(tree.staff3, req)
    with pytest.raises(Forbidden):
        operations.refuse_request(tree.staff3, req, "x")
    with pytest.raises(Forbidden):
        operations.create_item(tree.staff, tree.S1, operations.ItemData(
            title="街道物品", kind="goods", price_minutes=60, stock=1))


def test_item_data_is_checked(db, tree):
    with pytest.raises(Invalid) as e:
        operations.create_item(tree.staff, tree.C1, operations.ItemData(
            title="米", kind="goods", price_minutes=60, stock=None))
    assert e.value.details["field"] == "stock"
    with pytest.raises(Invalid):
        operations.create_item(tree.staff, tree.C1, operations.ItemData(
            title="米", kind="goods", price_minutes=0, stock=1))
    with pytest.raises(Invalid):
        operations.create_item(tree.staff, tree.G1a, operations.ItemData(
            title="米", kind="goods", price_minutes=60, stock=1))


def test_parallel_fulfil_and_cancel_of_one_request_settle_once(app, db, tree, make_item,
                                                               member_of, fund, balance, stock):
    """Staff press 'hand over' twice while the member cancels: one of them wins; the hours are
    redeemed at most once and the unit is either handed over or back in stock, never both."""
    member = member_of(tree.member)
    fund(member, 300)
    item = make_item(stock=1, price=60)
    req_id = operations.request_item(tree.member, member, item).id
    item_id, staff_id, member_user_id = item.id, tree.staff.id, tree.member.id
    db.session.commit()

    def fulfil():
        from timebank.accounts.models import User

        return operations.fulfil_request(db.session.get(User, staff_id),
                                         db.session.get(ExchangeRequest, req_id))

    def cancel():
        from timebank.accounts.models import User

        return operations.cancel_request(db.session.get(User, member_user_id),
                                         db.session.get(ExchangeRequest, req_id))

    results = run_parallel(app, db, [fulfil, fulfil, cancel, fulfil])
    db.session.expire_all()
    req = db.session.get(ExchangeRequest, req_id)
    redemptions = db.session.execute(select(func.count()).select_from(Transaction).where(
        Transaction.kind == TxKind.REDEMPTION.value)).scalar_one()
    if req.status == RequestStatus.FULFILLED:
        assert redemptions == 1 and balance(member) == 240 and stock(item_id) == 0
    else:
        assert req.status == RequestStatus.CANCELLED
        assert redemptions == 0 and balance(member) == 300 and stock(item_id) == 1
    wins = [r for r in results if not isinstance(r, Exception)]
    assert len(wins) == 1, results


def test_reversal_on_the_ledger_page_refunds_the_request(db, tree, make_item, member_of, fund,
                                                         balance, stock):
    from timebank.ledger import operations as ledger

    member = member_of(tree.member)
    fund(member, 120)
    item = make_item(stock=1, price=60)
    req = operations.request_item(tree.member, member, item)
    tx = operations.fulfil_request(tree.staff, req)
    db.session.commit()
    reversal = ledger.reverse(tree.staff, tx, "录入错误")
    db.session.commit()
    req = db.session.get(ExchangeRequest, req.id)
    assert req.status == RequestStatus.REFUNDED and req.reversal_id == reversal.id
    assert balance(member) == 120 and stock(item.id) == 1


def test_request_beyond_the_balance_is_refused_and_holds_nothing(db, tree, make_item,
                                                                 member_of, fund, stock):
    member = member_of(tree.member)
    fund(member, 30)
    item = make_item(stock=1, price=60)
    with pytest.raises(operations.NotEnoughHours) as e:
        operations.request_item(tree.member, member, item)
    assert "0.5" in str(e.value.message)
    db.session.rollback()
    assert stock(item.id) == 1
