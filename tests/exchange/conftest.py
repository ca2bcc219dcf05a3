"""Fixtures of the exchange tests: items, and members with hours in the bank."""
from __future__ import annotations

import datetime as dt

import pytest
from posts_fixtures import live_server, make_member, member_of  # noqa: F401


@pytest.fixture
def make_item(db, tree):
    """``make_item(org=C1, stock=3, price=60, kind="goods", actor=None)`` -> a committed item."""
    from timebank.exchange import operations

    def make(org=None, stock=3, price=60, kind="goods", title="大米一袋", actor=None,
             active=True):
        item = operations.create_item(actor, org or tree.C1, operations.ItemData(
            title=title, kind=kind, price_minutes=price, stock=stock, provider_name="爱心商户",
            opening_times="周六 9:00-11:00", active=active))
        db.session.commit()
        return item

    return make


@pytest.fixture
def fund(db, tree):
    """``fund(member, minutes)``: verified service deposited to the member's balance."""
    from tests.service_records import served
    from timebank.core import clock

    def give(member, minutes, staff=None):
        staff = staff or {tree.C1.id: tree.staff, tree.C3.id: tree.staff3}.get(
            member.community_id, tree.district_admin)
        served(staff, member, clock.now() - dt.timedelta(days=2), minutes)
        db.session.commit()

    return give


@pytest.fixture
def balance(db):
    from timebank.ledger import queries

    def get(member):
        db.session.commit()  # end the read snapshot: see what other connections wrote
        return queries.member_figures(member).balance_minutes

    return get


@pytest.fixture
def stock(db):
    from timebank.exchange.models import ExchangeItem

    def get(item_id):
        db.session.commit()  # end the read snapshot: see what other connections wrote
        return db.session.get(ExchangeItem, item_id).stock

    return get
