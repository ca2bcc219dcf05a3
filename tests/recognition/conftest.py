"""Helpers for recognition tests: verified service put in the ledger at chosen times."""
from __future__ import annotations

import itertools

import pytest

from timebank.core import clock


@pytest.fixture
def serve(db):
    """``serve(user, minutes, at, source="service_record")`` -> the deposit transaction."""
    from timebank.ledger import operations as ledger
    from timebank.members.models import Member

    ids = itertools.count(1)

    def deposit(user, minutes, at, source="service_record"):
        member = db.session.query(Member).filter_by(user_id=user.id).one()
        with clock.freeze(at):
            tx = ledger.deposit(None, member, minutes, source_type=source,
                                source_id=next(ids), reason="服务")
        db.session.commit()
        return tx

    return deposit


@pytest.fixture
def reverse(db):
    from timebank.ledger import operations as ledger

    def undo(tx, at):
        with clock.freeze(at):
            r = ledger.reverse(None, tx, "录入错误")
        db.session.commit()
        return r

    return undo

