"""Scheduled job bodies of the reports feature (declared in ``timebank/jobs/table.py``)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, select

from timebank.core import clock
from timebank.extensions import db
from timebank.members.models import Member
from timebank.orgs.models import OrgKind, OrgNode
from timebank.reports import operations, queries


def monthly_feedback_cards(scheduled_for: dt.datetime) -> str:
    """Make each unit's performance feedback card for the month before ``scheduled_for`` and
    send it to the unit's liaisons.

    Idempotent: a card exists once per unit and period, and each liaison's message carries a
    dedup key, so a second run for the period makes and sends nothing."""
    start, end = queries.previous_month(clock.to_local(scheduled_for).date())
    units = db.session.execute(
        select(OrgNode).where(OrgNode.kind == OrgKind.UNIT, OrgNode.active.is_(True),
                              exists().where(Member.unit_id == OrgNode.id))
        .order_by(OrgNode.id)).scalars().all()
    made = liaisons = 0
    for unit in units:
        card, created = operations.make_card(unit, start, end)
        made += created
        liaisons += operations.send_card(card)
    return (f"feedback cards {start:%Y-%m}: {made} made ({len(units) - made} existed) for "
            f"{len(units)} units with members; {liaisons} liaisons have them in their inbox")
