from __future__ import annotations

from sqlalchemy import func, select

from timebank.extensions import db
from timebank.notify.models import Delivery, Status

PROBLEMS = (Status.FAILED.value, Status.GAVE_UP.value)


def deliveries(status: str = "problems"):
    """The delivery log, newest first; "problems" = failed or given up."""
    query = select(Delivery).order_by(Delivery.id.desc())
    if status == "problems":
        return query.where(Delivery.status.in_(PROBLEMS))
    if status != "all":
        return query.where(Delivery.status == status)
    return query


def status_counts() -> dict[str, int]:
    rows = db.session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
    return {status: n for status, n in rows}
