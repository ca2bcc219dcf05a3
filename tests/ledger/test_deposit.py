"""Deposits and reversals: amounts, idempotency, the storage cap, group service, the chain."""
from __future__ import annotations

import datetime as dt

import pytest

from timebank.core import clock
from timebank.core.errors import Forbidden, Invalid
from timebank.ledger import operations as ledger
from timebank.ledger.operations import deposits
from timebank.ledger import queries
from timebank.ledger import verification
from timebank.ledger.errors import AlreadyReversed, InsufficientBalance, InvalidAmount
from timebank.ledger.models import Account, AccountKind, TxKind


def _balance(db, kind, org):
    from sqlalchemy import select

    return db.session.execute(select(Account.balance_minutes).where(
        Account.kind == kind, Account.org_id == org.id)).scalar()


def test_deposit_credits_member_and_debits_issuance(db, tree, member_of, ledger_rows):
    m = member_of(tree.member)
    tx = ledger.deposit(tree.staff, m, 90, source_type="service_record", source_id=1,
                        reason="助老送餐")
    db.session.commit()
    assert tx.kind == TxKind.DEPOSIT and tx.actor_id == tree.staff.id
    assert (tx.source_type, tx.source_id) == ("service_record", 1)
    assert sorted(p.amount for p in tx.postings) == [-90, 90]
    assert queries.member_figures(m) == queries.Figures(90, 90)
    assert _balance(db, AccountKind.ISSUANCE, tree.D) == -90
    assert ledger_rows() == (1, 2)
    assert verification.verify() == []


def test_same_source_twice_gives_the_same_transaction(db, tree, member_of, ledger_rows):
    m = member_of(tree.member)
    first = ledger.deposit(tree.staff, m, 60, source_type="service_record", source_id=7,
                           reason="")
    db.session.commit()
    again = ledger.deposit(None, m, 60, source_type="service_record", source_id=7, reason="")
    db.session.commit()
    assert again.id == first.id
    assert ledger_rows() == (1, 2)
    assert queries.member_figures(m).balance_minutes == 60
    assert queries.deposit_for("service_record", 7).id == first.id


@pytest.mark.parametrize("minutes", [0, -5, 1.5, True, "60", None, ledger.MAX_MINUTES + 1])
def test_invalid_amounts_are_refused(db, tree, member_of, ledger_rows, minutes):
    with pytest.raises(InvalidAmount) as e:
        ledger.deposit(None, member_of(tree.member), minutes, source_type="x", source_id=1,
                       reason="")
    assert e.value.code == "invalid_amount"
    db.session.rollback()
    assert ledger_rows() == (0, 0)


def test_source_is_required(db, tree, member_of):
    with pytest.raises(Invalid):
        ledger.deposit(None, member_of(tree.member), 5, source_type="", source_id=1, reason="")
    with pytest.raises(Invalid):
        ledger.deposit(None, member_of(tree.member), 5, source_type="x", source_id="1",
                       reason="")


def test_only_staff_deposit(db, tree, member_of):
    with pytest.raises(Forbidden):
        ledger.deposit(tree.member, member_of(tree.member), 5, source_type="x", source_id=1,
                       reason="")
    # Staff of another community may credit a member who served there.
    ledger.deposit(tree.staff3, member_of(tree.member), 5, source_type="x", source_id=1,
                   reason="")


def test_storage_cap_sends_the_excess_to_the_community_pool(db, tree, member_of, set_rules):
    set_rules(storage_cap_minutes=100)
    m = member_of(tree.member)
    ledger.deposit(None, m, 80, source_type="s", source_id=1, reason="")
    tx = ledger.deposit(None, m, 50, source_type="s", source_id=2, reason="")
    db.session.commit()
    assert sorted(p.amount for p in tx.postings) == [-50, 20, 30]
    assert queries.member_figures(m) == queries.Figures(100, 130)
    assert _balance(db, AccountKind.POOL, tree.C1) == 30
    # At the cap, everything goes to the pool and the member's service still counts.
    tx = ledger.deposit(None, m, 10, source_type="s", source_id=3, reason="")
    db.session.commit()
    assert sorted(p.amount for p in tx.postings) == [-10, 10]
    assert queries.member_figures(m) == queries.Figures(100, 140)
    assert verification.verify() == []


def test_group_service_donate_only(db, tree, member_of, set_rules):
    m = member_of(tree.member)
    ledger.deposit(None, m, 30, source_type="s", source_id=1, reason="", group=True)
    set_rules(group_service_donate_only=True)
    ledger.deposit(None, m, 40, source_type="s", source_id=2, reason="", group=True)
    ledger.deposit(None, m, 5, source_type="s", source_id=3, reason="")
    db.session.commit()
    assert queries.member_figures(m) == queries.Figures(35, 75)
    assert _balance(db, AccountKind.POOL, tree.C1) == 40
    assert verification.verify() == []


def test_reverse_a_deposit(db, tree, member_of, ledger_rows):
    m = member_of(tree.member)
    tx = ledger.deposit(tree.staff, m, 45, source_type="s", source_id=1, reason="")
    db.session.commit()
    rev = ledger.reverse(tree.staff, tx, "核销有误")
    db.session.commit()
    assert rev.kind == TxKind.REVERSAL and rev.reverses_id == tx.id
    assert sorted(p.amount for p in rev.postings) == [-45, 45]
    assert queries.member_figures(m) == queries.Figures(0, 0)
    assert _balance(db, AccountKind.ISSUANCE, tree.D) == 0
    db.session.expire_all()
    assert tx.reversed_by.id == rev.id
    # Idempotent: one reversal per original.
    assert ledger.reverse(tree.staff, tx, "again").id == rev.id
    with pytest.raises(AlreadyReversed) as e:
        ledger.reverse(None, rev, "undo the undo")
    assert e.value.code == "already_reversed"
    db.session.rollback()
    assert ledger_rows() == (2, 4)
    assert verification.verify() == []


def test_reversal_needs_a_reason_and_scope(db, tree, member_of):
    tx = ledger.deposit(None, member_of(tree.member), 45, source_type="s", source_id=1,
                        reason="")
    with pytest.raises(Invalid):
        ledger.reverse(tree.staff, tx, "  ")
    with pytest.raises(Forbidden):
        ledger.reverse(tree.staff3, tx, "not my community")
    with pytest.raises(Forbidden):
        ledger.reverse(tree.member, tx, "my own")
    ledger.reverse(tree.district_admin, tx, "by the district")


def test_cannot_reverse_spent_hours(db, tree, member_of):
    m = member_of(tree.member)
    tx = ledger.deposit(None, m, 60, source_type="s", source_id=1, reason="")
    ledger.redeem(None, m, 30, reason="理发")
    db.session.commit()
    with pytest.raises(InsufficientBalance) as e:
        ledger.reverse(None, tx, "mistake")
    assert e.value.code == "insufficient_balance"
    db.session.rollback()
    assert queries.member_figures(m) == queries.Figures(30, 60)


def test_reversing_an_overflowing_deposit_empties_the_pool_share(db, tree, member_of,
                                                                 set_rules):
    set_rules(storage_cap_minutes=50)
    m = member_of(tree.member)
    tx = ledger.deposit(None, m, 80, source_type="s", source_id=1, reason="")
    ledger.reverse(None, tx, "wrong")
    db.session.commit()
    assert queries.member_figures(m) == queries.Figures(0, 0)
    assert _balance(db, AccountKind.POOL, tree.C1) == 0
    assert verification.verify() == []


def test_hash_chain_links_every_transaction(db, tree, member_of):
    from sqlalchemy import select

    from timebank.ledger.hashing import GENESIS_HASH
    from timebank.ledger.models import Transaction

    m = member_of(tree.member)
    for i in range(5):
        ledger.deposit(None, m, 10 + i, source_type="s", source_id=i, reason=f"第{i}次")
    db.session.commit()
    txs = db.session.execute(select(Transaction).order_by(Transaction.id)).scalars().all()
    assert [t.id for t in txs] == [1, 2, 3, 4, 5]
    assert txs[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in zip(txs, txs[1:]))


def test_service_minutes_by_period(db, tree, member_of):
    m, m3 = member_of(tree.member), member_of(tree.member3)
    jan = dt.datetime(2026, 1, 10, 2, tzinfo=dt.timezone.utc)
    mar = dt.datetime(2026, 3, 10, 2, tzinfo=dt.timezone.utc)
    with clock.freeze(jan):
        ledger.deposit(None, m, 60, source_type="s", source_id=1, reason="")
        ledger.deposit(None, m3, 30, source_type="s", source_id=2, reason="")
    with clock.freeze(mar):
        tx = ledger.deposit(None, m, 20, source_type="s", source_id=3, reason="")
        ledger.redeem(None, m, 10, reason="used")  # spending never lowers service
        ledger.reverse(None, db.session.get(type(tx), 1), "wrong")  # counted in March
    db.session.commit()
    assert queries.service_minutes() == {m.id: 20, m3.id: 30}
    feb = dt.datetime(2026, 2, 1, tzinfo=dt.timezone.utc)
    assert queries.service_minutes(start=jan, end=feb) == {m.id: 60, m3.id: 30}
    assert queries.service_minutes([m.id], start=feb) == {m.id: -40}
    assert queries.service_minutes([tree.member.id + 999]) == {tree.member.id + 999: 0}


# --- deposit_many -------------------------------------------------------------------------------

def test_deposit_many_matches_deposits_one_by_one(db, tree, member_of, ledger_rows, set_rules):
    set_rules(storage_cap_minutes=100)
    a, b = member_of(tree.member), member_of(tree.member3)
    before = ledger.deposit(tree.staff, a, 30, source_type="service_record", source_id=1,
                            reason="")
    db.session.commit()
    items = [ledger.DepositItem(a, 50, "service_record", 2, "助老"),
             ledger.DepositItem(b, 40, "service_record", 3),
             ledger.DepositItem(a, 60, "service_record", 4),  # over the cap: 20 to a, 40 pool
             ledger.DepositItem(a, 30, "service_record", 1),  # deposited before
             ledger.DepositItem(b, 40, "service_record", 3)]  # twice in the batch
    txs = ledger.deposit_many(tree.district_admin, items)
    db.session.commit()
    assert txs[3].id == before.id and txs[4].id == txs[1].id
    assert len({t.id for t in txs}) == 4
    assert [t.id for t in txs[:3]] == [before.id + 1, before.id + 2, before.id + 3]
    assert queries.member_figures(a) == queries.Figures(100, 140)
    assert queries.member_figures(b) == queries.Figures(40, 40)
    assert _balance(db, AccountKind.POOL, tree.C1) == 40
    assert _balance(db, AccountKind.ISSUANCE, tree.D) == -180
    assert ledger_rows() == (4, 9)
    assert verification.verify() == []  # chain, sums, caches and running balances all hold
    # Again: nothing new.
    again = ledger.deposit_many(tree.district_admin, items)
    db.session.commit()
    assert [t.id for t in again] == [t.id for t in txs] and ledger_rows() == (4, 9)


def test_deposit_many_refuses_members_and_bad_items_writing_nothing(db, tree, member_of,
                                                                   ledger_rows):
    m = member_of(tree.member)
    with pytest.raises(Forbidden):
        ledger.deposit_many(tree.member, [ledger.DepositItem(m, 30, "service_record", 1)])
    with pytest.raises(InvalidAmount):
        ledger.deposit_many(tree.staff, [ledger.DepositItem(m, 30, "service_record", 1),
                                         ledger.DepositItem(m, 0, "service_record", 2)])
    with pytest.raises(Invalid):
        ledger.deposit_many(tree.staff, [ledger.DepositItem(m, 30, "a:b", 1)])
    db.session.commit()
    assert ledger_rows() == (0, 0)
    assert ledger.deposit_many(tree.staff, []) == []


def test_deposit_many_failing_midway_leaves_nothing(db, tree, member_of, ledger_rows,
                                                    monkeypatch):
    m = member_of(tree.member)
    ledger.deposit(None, m, 30, source_type="s", source_id=1, reason="")
    db.session.commit()
    original = deposits._write_many

    def failing(*args):
        original(*args)  # caches, postings and rows all written, the savepoint still open
        raise RuntimeError("power cut")

    monkeypatch.setattr(deposits, "_write_many", failing)
    with pytest.raises(RuntimeError):
        ledger.deposit_many(None, [ledger.DepositItem(m, 10, "s", 2),
                                   ledger.DepositItem(m, 20, "s", 3)])
    db.session.commit()
    assert ledger_rows() == (1, 2)
    assert queries.member_figures(m) == queries.Figures(30, 30)
    assert verification.verify() == []
