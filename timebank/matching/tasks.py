"""Scheduled job bodies of the matcher (declared in ``timebank/jobs/table.py``)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from timebank.core import clock
from timebank.extensions import db
from timebank.matching import operations
from timebank.matching.models import MatchRun, RunOrigin


def nightly_match(scheduled_for: dt.datetime) -> str:
    """Match every community's open posts and demands once per night, for staff to review in
    the morning. Idempotent: the run is keyed by the local date of ``scheduled_for`` (a unique
    column), so a second call for the same night stores nothing and says so."""
    night = clock.to_local(scheduled_for).date()
    existing = db.session.execute(
        select(MatchRun.id).where(MatchRun.nightly_for == night)).scalar_one_or_none()
    if existing is not None:
        return f"already ran for {night.isoformat()} (run {existing})"
    result = operations.run_matching(None, None, origin=RunOrigin.NIGHTLY, nightly_for=night)
    return f"{night.isoformat()}: {result.summary()}"
