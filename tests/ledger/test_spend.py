"""Redemptions and relays: balances, family members, the regional rules, idempotency keys."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from timebank.core import clock
from timebank.core.errors import Forbidden, Invalid
from timebank.ledger import operations as ledger
from timebank.ledger import queries
from timebank.ledger import verification
from timebank.ledger.errors import (InsufficientBalance, RelayLimitExceeded, RelayNotAllowed)
from timebank.ledger.models import Account, AccountKind, TxKind


def _fund(m, minutes, source_id=1):
    return ledger.deposit(None, m, minutes, source_type="test", source_id=source_id, reason="")


def _pool(db, community):
    return db.session.execute(select(Account.balance_minutes).where(
        Account.kind == AccountKind.POOL, Account.org_id == community.id)).scalar() or 0


def test_staff_record_a_redemption_for_a_family_member(db, tree, member_of):
    m = member_of(tree.member)
    _fund(m, 120)
    father = ledger.add_beneficiary(tree.member, m, "王大爷", "父亲")
    db.session.commit()
    tx = ledger.redeem(tree.staff, m, 90, beneficiary=father, reason="助老送餐三次")
    db.session.commit()
    assert tx.kind == TxKind.REDEMPTION and tx.beneficiary_id == father.id
    assert queries.member_figures(m) == queries.Figures(30, 120)
    entry = queries.statement(m, 1, 10).items[0]
    assert entry.amount == -90 and entry.balance_after == 30 and "王大爷" in entry.beneficiary
    assert verification.verify() == []


def test_redemption_refusals(db, tree, member_of):
    m, m3 = member_of(tree.member), member_of(tree.member3)
    _fund(m, 60)
    other = ledger.add_beneficiary(None, m3, "丙家人", "母亲")
    mine = ledger.add_beneficiary(None, m, "甲家人", "母亲")
    ledger.remove_beneficiary(tree.member, mine)
    db.session.commit()
    with pytest.raises(InsufficientBalance):
        ledger.redeem(tree.staff, m, 61, reason="x")
    with pytest.raises(Forbidden):
        ledger.redeem(tree.staff3, m, 10, reason="x")
    with pytest.raises(Forbidden):
        ledger.redeem(tree.member, m, 10, reason="myself")
    with pytest.raises(Invalid):
        ledger.redeem(tree.staff, m, 10, beneficiary=other, reason="x")
    with pytest.raises(Invalid):
        ledger.redeem(tree.staff, m, 10, beneficiary=mine, reason="removed")
    with pytest.raises(Invalid):
        ledger.redeem(tree.staff, m, 10, reason="")
    db.session.rollback()
    assert queries.member_figures(m).balance_minutes == 60


def test_idempotency_key_for_redemption_and_relay(db, tree, member_of, ledger_rows):
    m, m3 = member_of(tree.member), member_of(tree.member3)
    _fund(m, 100)
    a = ledger.redeem(tree.staff, m, 10, reason="x", idempotency_key="form-1")
    b = ledger.redeem(tree.staff, m, 10, reason="x", idempotency_key="form-1")
    c = ledger.relay(tree.member, m, 5, to_member=m3, reason="", idempotency_key="form-1")
    d = ledger.relay(tree.member, m, 5, to_member=m3, reason="", idempotency_key="form-1")
    db.session.commit()
    assert a.id == b.id and c.id == d.id and a.id != c.id
    assert ledger_rows() == (3, 6)
    assert queries.member_figures(m).balance_minutes == 85


def test_relay_to_a_member_and_to_a_pool(db, tree, member_of):
    m, m3 = member_of(tree.member), member_of(tree.member3)
    _fund(m, 100)
    ledger.relay(tree.member, m, 30, to_member=m3, reason="送给丙")
    ledger.relay(tree.member, m, 20, to_pool_community=tree.C3, reason="")
    db.session.commit()
    assert queries.member_figures(m) == queries.Figures(50, 100)
    assert queries.member_figures(m3) == queries.Figures(30, 0)
    assert _pool(db, tree.C3) == 20
    page = queries.statement(m, 1, 10)
    assert [e.amount for e in page.items] == [-20, -30, 100]
    assert [e.balance_after for e in page.items] == [50, 70, 100]
    assert "党员丙" in page.items[1].counterparties
    assert queries.statement(m3, 1, 10).items[0].counterparties == ("党员甲",)
    assert verification.verify() == []


def test_relay_refusals(db, tree, member_of, make_user):
    m, m3 = member_of(tree.member), member_of(tree.member3)
    _fund(m, 100)
    db.session.commit()
    with pytest.raises(Forbidden):
        ledger.relay(tree.staff, m, 10, to_member=m3, reason="")
    with pytest.raises(RelayNotAllowed) as e:
        ledger.relay(tree.member, m, 10, to_member=m, reason="")
    assert e.value.code == "relay_not_allowed"
    with pytest.raises(Invalid):
        ledger.relay(tree.member, m, 10, reason="")
    with pytest.raises(Invalid):
        ledger.relay(tree.member, m, 10, to_member=m3, to_pool_community=tree.C1, reason="")
    with pytest.raises(RelayNotAllowed):
        ledger.relay(tree.member, m, 10, to_pool_community=tree.G1a, reason="")
    with pytest.raises(InsufficientBalance):
        ledger.relay(tree.member, m, 101, to_member=m3, reason="")


def test_relay_recipient_rules(db, tree, member_of, make_user, set_rules):
    m, m3 = member_of(tree.member), member_of(tree.member3)
    neighbour = member_of(make_user("member", tree.C1, name="邻居"))
    _fund(m, 100)
    set_rules(relay_recipients="pools_only")
    with pytest.raises(RelayNotAllowed):
        ledger.relay(tree.member, m, 10, to_member=neighbour, reason="")
    ledger.relay(tree.member, m, 10, to_pool_community=tree.C3, reason="")
    set_rules(relay_recipients="same_community")
    with pytest.raises(RelayNotAllowed):
        ledger.relay(tree.member, m, 10, to_member=m3, reason="")
    with pytest.raises(RelayNotAllowed):
        ledger.relay(tree.member, m, 10, to_pool_community=tree.C3, reason="")
    ledger.relay(tree.member, m, 10, to_member=neighbour, reason="")
    ledger.relay(tree.member, m, 10, to_pool_community=tree.C1, reason="")
    db.session.commit()
    assert queries.member_figures(m).balance_minutes == 70


def test_yearly_relay_limit(db, tree, member_of, set_rules):
    m, m3 = member_of(tree.member), member_of(tree.member3)
    set_rules(relay_yearly_limit_minutes=60)
    dec = dt.datetime(2026, 12, 31, 10, tzinfo=dt.timezone.utc)  # 18:00 in Shanghai
    with clock.freeze(dec):
        _fund(m, 500)
        first = ledger.relay(tree.member, m, 40, to_member=m3, reason="")
        with pytest.raises(RelayLimitExceeded) as e:
            ledger.relay(tree.member, m, 30, to_member=m3, reason="")
        assert e.value.code == "relay_limit_exceeded"
        # A reversed relay does not count against the limit.
        ledger.reverse(None, first, "mistake")
        ledger.relay(tree.member, m, 60, to_pool_community=tree.C1, reason="")
        with pytest.raises(RelayLimitExceeded):
            ledger.check_relay(tree.member, m, 1, to_member=m3)
    # A new local year starts at 16:00 UTC on 31 December.
    with clock.freeze(dec + dt.timedelta(hours=6)):
        preview = ledger.check_relay(tree.member, m, 60, to_member=m3)
        assert preview.relayed_this_year == 0 and preview.balance_after == 380
        ledger.relay(tree.member, m, 60, to_member=m3, reason="")
    set_rules(relay_yearly_limit_minutes=0)  # no limit
    ledger.relay(tree.member, m, 200, to_member=m3, reason="")
    db.session.commit()
    assert verification.verify() == []


def test_relay_respects_the_recipients_storage_cap(db, tree, member_of, set_rules):
    m, m3 = member_of(tree.member), member_of(tree.member3)
    set_rules(storage_cap_minutes=100)
    _fund(m, 100)
    _fund(m3, 80, source_id=2)
    preview = ledger.check_relay(tree.member, m, 50, to_member=m3)
    assert (preview.to_recipient, preview.to_pool) == (20, 30)
    ledger.relay(tree.member, m, 50, to_member=m3, reason="")
    db.session.commit()
    assert queries.member_figures(m3).balance_minutes == 100
    assert _pool(db, tree.C3) == 30
    assert verification.verify() == []


def test_relay_does_not_lower_service_minutes(db, tree, member_of):
    m, m3 = member_of(tree.member), member_of(tree.member3)
    _fund(m, 100)
    ledger.relay(tree.member, m, 100, to_member=m3, reason="")
    db.session.commit()
    assert queries.member_figures(m) == queries.Figures(0, 100)
    assert queries.service_minutes() == {m.id: 100}


def test_reverse_a_relay(db, tree, member_of):
    m, m3 = member_of(tree.member), member_of(tree.member3)
    _fund(m, 100)
    tx = ledger.relay(tree.member, m, 40, to_member=m3, reason="")
    db.session.commit()
    # Staff of one community alone may not undo a relay that reached another community.
    assert not ledger.can_reverse(tree.staff, tx)
    assert ledger.can_reverse(tree.district_admin, tx)
    ledger.reverse(tree.district_admin, tx, "误操作")
    db.session.commit()
    assert queries.member_figures(m).balance_minutes == 100
    assert queries.member_figures(m3).balance_minutes == 0
    assert verification.verify() == []
