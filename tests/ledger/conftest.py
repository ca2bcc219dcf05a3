"""Helpers for the ledger tests."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select


@pytest.fixture
def member_of(db):
    """``member_of(user)`` -> the user's Member row."""
    from timebank.members.models import Member

    def get(user):
        return db.session.execute(select(Member).where(Member.user_id == user.id)).scalar_one()

    return get


@pytest.fixture
def ledger_rows(db):
    """``ledger_rows()`` -> (transactions, postings) counts."""
    from timebank.ledger.models import Posting, Transaction

    def count():
        return (db.session.execute(select(func.count()).select_from(Transaction)).scalar_one(),
                db.session.execute(select(func.count()).select_from(Posting)).scalar_one())

    return count


@pytest.fixture
def set_rules(db):
    """``set_rules(storage_cap_minutes=..., ...)``: store ledger rules and commit."""
    from timebank.core import settings

    def put(**values):
        for name, value in values.items():
            settings.put(None, f"ledger.{name}", value)
        db.session.commit()

    return put
