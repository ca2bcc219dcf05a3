"""Scheduled job bodies of the recognition feature (declared in ``timebank/jobs/table.py``)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from timebank.core import clock
from timebank.extensions import db
from timebank.orgs.models import OrgKind, OrgNode
from timebank.recognition import operations, queries


def year_end_snapshot(scheduled_for: dt.datetime) -> str:
    """Store each district's ranking of the year that ended before ``scheduled_for``.

    Idempotent: a year already snapshotted is left as it is, so a second run for the period
    (or a retry) changes nothing."""
    year = clock.to_local(scheduled_for).year - 1
    mismatches = queries.totals_mismatches(year)
    if mismatches:
        # A snapshot is a record that stays; never take one from totals the ledger disagrees
        # with. The run fails and shows on the jobs page.
        raise RuntimeError(
            f"{len(mismatches)} members' {year} totals differ from the ledger (first: member "
            f"{mismatches[0][0]}); see `timebank recognition verify-totals --year {year}`")
    districts = db.session.execute(
        select(OrgNode).where(OrgNode.kind == OrgKind.DISTRICT).order_by(OrgNode.id)).scalars()
    parts = []
    for district in districts:
        snap, created = operations.take_snapshot(None, year, district)
        parts.append(f"{district.code}: {snap.entries_count} members"
                     + ("" if created else " (already taken)"))
    return f"ranking snapshot {year}: " + ("; ".join(parts) or "no districts")
