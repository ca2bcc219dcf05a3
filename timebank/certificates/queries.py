"""Reads for certificates: the services a certificate counts, and a member's certificates."""
from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import aliased, joinedload

from timebank.core import clock
from timebank.extensions import db
from timebank.certificates.models import Certificate
from timebank.ledger.models import Transaction
from timebank.members.models import Member
from timebank.orgs.models import OrgNode
from timebank.posts.models import Post, RecordStatus, ServiceRecord


@dataclasses.dataclass(frozen=True)
class Service:
    started_at: dt.datetime
    what: str
    place: str
    minutes: int


def certified_services(member: Member, start: dt.date, end: dt.date) -> list[Service]:
    """The service a certificate for [start, end] (local dates, both included) counts: the
    member's verified service records started in the period whose deposit was never reversed,
    oldest first. Pending, rejected and withdrawn records never count, nor a verification whose
    deposit was reversed on the ledger's own page."""
    lo = clock.local_day_bounds(start)[0]
    hi = clock.local_day_bounds(end)[1]
    reversal = aliased(Transaction)
    community = aliased(OrgNode)
    rows = db.session.execute(
        select(ServiceRecord.started_at, ServiceRecord.minutes, ServiceRecord.description,
               Post.title, Post.place, community.name)
        .outerjoin(Post, Post.id == ServiceRecord.post_id)
        .join(community, community.id == ServiceRecord.community_id)
        .where(ServiceRecord.member_id == member.id,
               ServiceRecord.status == RecordStatus.VERIFIED.value,
               ServiceRecord.minutes > 0,
               ServiceRecord.transaction_id.is_not(None),
               ServiceRecord.started_at >= lo, ServiceRecord.started_at < hi,
               ~exists().where(and_(reversal.reverses_id == ServiceRecord.transaction_id)))
        .order_by(ServiceRecord.started_at, ServiceRecord.id)).all()
    out = []
    for started_at, minutes, description, title, place, community_name in rows:
        text = (description or "").strip()
        what = title or (text.splitlines()[0][:100] if text else "")
        where = f"{community_name} · {place}" if place else community_name
        out.append(Service(started_at, what, where, int(minutes)))
    return out


def certificates_of(member: Member, limit: int = 50) -> list[Certificate]:
    return list(db.session.execute(
        select(Certificate).where(Certificate.member_id == member.id)
        .order_by(Certificate.id.desc()).limit(limit)).scalars())


def by_code(code: str) -> Certificate | None:
    if not code or len(code) > 64:
        return None
    return db.session.execute(
        select(Certificate).where(Certificate.code == code)
        .options(joinedload(Certificate.member).joinedload(Member.community))
    ).scalar_one_or_none()
