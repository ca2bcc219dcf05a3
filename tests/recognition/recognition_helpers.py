"""Shared helpers of the recognition tests (fixtures are in conftest.py)."""
from __future__ import annotations

import datetime as dt

from timebank.core import clock

SH = clock.LOCAL_TZ


def local(*args) -> dt.datetime:
    """A wall-clock time in Asia/Shanghai as an aware datetime."""
    return dt.datetime(*args, tzinfo=SH)


def member_of(db, user):
    from timebank.members.models import Member

    return db.session.query(Member).filter_by(user_id=user.id).one()
