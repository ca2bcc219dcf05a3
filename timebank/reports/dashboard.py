"""Reads for the street and district dashboards: a handful of grouped queries, each over an
index of the scope's communities, never a loop over members.

Verified hours come from the rankings' yearly totals (ledger entries by their time, reversals
included); hours by category from verified service records whose deposit was not reversed, by
the month the service was done (Asia/Shanghai)."""
from __future__ import annotations

import dataclasses

from sqlalchemy import and_, case, func, literal_column, select

from timebank.core import clock
from timebank.extensions import db
from timebank.ledger.models import Transaction
from timebank.members.models import Member, MemberStatus
from timebank.orgs.models import OrgKind, OrgNode
from timebank.orgs.queries import subtree_ids
from timebank.catalogue.models import PostCategory, PostKind
from timebank.posts.models import (Attendance, Claim, ClaimStatus, Post, PostSession, PostStatus,
                                   RecordStatus, ServiceRecord)
from timebank.recognition.models import ServiceYearTotal
from timebank.reports.queries import ParticipationRates


@dataclasses.dataclass
class OrgFigures(ParticipationRates):
    id: int
    name: str
    registered: int = 0
    reported: int = 0
    active: int = 0
    minutes: int = 0
    open_needs: int = 0
    unfilled_posts: int = 0


@dataclasses.dataclass
class MonthFigures:
    month: int
    places: int = 0
    claimed: int = 0
    attended: int = 0
    no_shows: int = 0
    minutes_by_category: dict[int, int] = dataclasses.field(default_factory=dict)

    @property
    def claim_rate(self) -> float | None:
        return self.claimed / self.places if self.places else None

    @property
    def attendance_rate(self) -> float | None:
        done = self.attended + self.no_shows
        return self.attended / done if done else None

    @property
    def minutes(self) -> int:
        return sum(self.minutes_by_category.values())


@dataclasses.dataclass
class Dashboard:
    scope: OrgNode
    year: int
    communities: list[OrgFigures]
    units: list[OrgFigures]
    months: list[MonthFigures]
    #: (category id or 0 for service without a category, name) in catalogue order.
    categories: list[tuple[int, str]]

    def total(self, attr: str) -> int:
        return sum(getattr(c, attr) for c in self.communities)

    def month_total(self, attr: str) -> int:
        return sum(getattr(m, attr) for m in self.months)

    @property
    def minutes_by_category(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for m in self.months:
            for cat, minutes in m.minutes_by_category.items():
                out[cat] = out.get(cat, 0) + minutes
        return out

    @property
    def claim_rate(self) -> float | None:
        places = self.month_total("places")
        return self.month_total("claimed") / places if places else None

    @property
    def attendance_rate(self) -> float | None:
        done = self.month_total("attended") + self.month_total("no_shows")
        return self.month_total("attended") / done if done else None


def _local_month(column):
    """The calendar month (1-12) of a UTC timestamp column in Asia/Shanghai (UTC+8, no DST)."""
    if db.engine.dialect.name == "postgresql":
        return func.cast(func.extract("month", column + literal_column("INTERVAL '8 hours'")),
                         db.Integer)
    return func.cast(func.strftime("%m", column, "+8 hours"), db.Integer)


def build(scope: OrgNode, year: int) -> Dashboard:
    communities_in = subtree_ids(scope, OrgKind.COMMUNITY)
    communities = {c.id: OrgFigures(c.id, c.name) for c in db.session.execute(
        select(OrgNode).where(OrgNode.id.in_(communities_in)).order_by(OrgNode.path)).scalars()}
    approved = case((Member.status == MemberStatus.APPROVED.value, 1), else_=0)

    # Members: registered and reported, by community and by unit.
    units: dict[int, OrgFigures] = {}
    for community_id, unit_id, unit_name, n, reported in db.session.execute(
            select(Member.community_id, Member.unit_id, OrgNode.name, func.count(),
                   func.sum(approved))
            .outerjoin(OrgNode, OrgNode.id == Member.unit_id)
            .where(Member.community_id.in_(communities_in))
            .group_by(Member.community_id, Member.unit_id, OrgNode.name)):
        c = communities[community_id]
        c.registered += n
        c.reported += int(reported or 0)
        if unit_id is not None:
            u = units.setdefault(unit_id, OrgFigures(unit_id, unit_name))
            u.registered += n
            u.reported += int(reported or 0)

    # Verified hours and active members of the year (the rankings' totals).
    t = ServiceYearTotal
    for community_id, unit_id, n, minutes in db.session.execute(
            select(Member.community_id, Member.unit_id, func.count(), func.sum(t.minutes))
            .join(Member, Member.id == t.member_id)
            .where(t.year == year, t.minutes > 0, Member.community_id.in_(communities_in))
            .group_by(Member.community_id, Member.unit_id)):
        c = communities[community_id]
        c.active += n
        c.minutes += int(minutes)
        if unit_id is not None and unit_id in units:
            units[unit_id].active += n
            units[unit_id].minutes += int(minutes)

    start, end = clock.local_year_bounds(year)
    months = {m: MonthFigures(m) for m in range(1, 13)}
    # Places offered and claimed, attendance, by the month sessions start.
    month = _local_month(PostSession.starts_at)
    sessions = (select(PostSession.id, PostSession.capacity, month.label("month"))
                .join(Post, Post.id == PostSession.post_id)
                .where(Post.community_id.in_(communities_in), PostSession.cancelled.is_(False),
                       PostSession.starts_at >= start, PostSession.starts_at < end)
                .subquery())
    for m, places in db.session.execute(
            select(sessions.c.month, func.sum(sessions.c.capacity)).group_by(sessions.c.month)):
        months[int(m)].places = int(places or 0)
    for m, claimed, attended, no_shows in db.session.execute(
            select(sessions.c.month, func.count(),
                   func.sum(case((Claim.attendance == Attendance.ATTENDED.value, 1), else_=0)),
                   func.sum(case((Claim.attendance == Attendance.NO_SHOW.value, 1), else_=0)))
            .join(Claim, Claim.session_id == sessions.c.id)
            .where(Claim.status != ClaimStatus.WITHDRAWN.value)
            .group_by(sessions.c.month)):
        f = months[int(m)]
        f.claimed, f.attended, f.no_shows = int(claimed), int(attended or 0), int(no_shows or 0)

    # Hours by category and month of service: verified records whose deposit stands.
    reversal = Transaction.__table__.alias("reversal")
    service_month = _local_month(ServiceRecord.started_at)
    for m, category_id, minutes in db.session.execute(
            select(service_month, PostKind.category_id, func.sum(ServiceRecord.minutes))
            .select_from(ServiceRecord)
            .outerjoin(PostKind, PostKind.id == ServiceRecord.kind_id)
            .outerjoin(reversal, reversal.c.reverses_id == ServiceRecord.transaction_id)
            .where(ServiceRecord.community_id.in_(communities_in),
                   ServiceRecord.status == RecordStatus.VERIFIED.value,
                   ServiceRecord.started_at >= start, ServiceRecord.started_at < end,
                   ServiceRecord.transaction_id.is_not(None), reversal.c.id.is_(None))
            .group_by(service_month, PostKind.category_id)):
        by_cat = months[int(m)].minutes_by_category
        by_cat[category_id or 0] = by_cat.get(category_id or 0, 0) + int(minutes)

    # Open needs and posts with places left in coming sessions, by community.
    from timebank.lists.models import Demand, DemandStatus

    for community_id, n in db.session.execute(
            select(Demand.community_id, func.count())
            .where(Demand.community_id.in_(communities_in),
                   Demand.status == DemandStatus.OPEN.value)
            .group_by(Demand.community_id)):
        communities[community_id].open_needs = int(n)
    now = clock.now()
    for community_id, n in db.session.execute(
            select(Post.community_id, func.count(func.distinct(Post.id)))
            .join(PostSession, and_(PostSession.post_id == Post.id,
                                    PostSession.starts_at > now,
                                    PostSession.cancelled.is_(False),
                                    PostSession.claimed < PostSession.capacity))
            .where(Post.community_id.in_(communities_in),
                   Post.status == PostStatus.PUBLISHED.value)
            .group_by(Post.community_id)):
        communities[community_id].unfilled_posts = int(n)

    categories = [(c.id, c.display_name) for c in db.session.execute(
        select(PostCategory).order_by(PostCategory.position)).scalars()]
    return Dashboard(
        scope=scope, year=year, communities=list(communities.values()),
        units=sorted(units.values(), key=lambda u: (-u.minutes, -u.reported, u.name)),
        months=[months[m] for m in range(1, 13)], categories=categories)


def scopes_for(user) -> list[OrgNode]:
    """The district and streets ``user`` may see dashboards of (street and district admins)."""
    from timebank.accounts.models import Role

    out: dict[int, OrgNode] = {}
    for root in user.role_nodes(Role.DISTRICT_ADMIN, Role.STREET_ADMIN):
        out[root.id] = root
        if root.kind == OrgKind.DISTRICT:
            for s in db.session.execute(select(OrgNode).where(
                    OrgNode.parent_id == root.id, OrgNode.kind == OrgKind.STREET)
                    .order_by(OrgNode.code)).scalars():
                out[s.id] = s
    order = {OrgKind.DISTRICT: 0, OrgKind.STREET: 1}
    return sorted(out.values(), key=lambda n: (order.get(OrgKind(n.kind), 2), n.path))
