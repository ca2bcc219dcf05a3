"""Helpers for recognition tests: verified service put in the ledger at chosen times."""
from __future__ import annotations

import itertools

import pytest

from timebank.core import clock


@pytest.fixture
def serve(db):
    """``serve(user, minutes, at, source="service_record")`` -> the deposit transaction. For
    ``service_record``: a verified service record served at ``at`` and deposited then; any other
    source: a bare deposit (not verified service: it never ranks)."""
    import datetime as dt

    from timebank.ledger import operations as ledger
    from timebank.members.models import Member
    from timebank.posts.models import ServiceRecord

    ids = itertools.count(10_000)

    def deposit(user, minutes, at, source="service_record"):
        member = db.session.query(Member).filter_by(user_id=user.id).one()
        record = None
        if source == "service_record":
            record = ServiceRecord(
                member_id=member.id, community_id=member.community_id, source="reported",
                description="服务", started_at=at, ended_at=at + dt.timedelta(minutes=minutes),
                minutes=minutes, status="verified", flags=[], created_at=at)
            db.session.add(record)
            db.session.flush()
        with clock.freeze(at):
            tx = ledger.deposit(None, member, minutes, source_type=source,
                                source_id=record.id if record else next(ids), reason="服务")
        if record is not None:
            record.transaction_id = tx.id
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

