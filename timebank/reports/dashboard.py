"""The street and district dashboards, read from the measures (``timebank.measures``): each
figure is a measure broken down by community, unit (plus a row for members without a unit), month
and category in one grouped query each, so the tables add up to the totals.

Verified hours: verified, un-reversed service records by the day served (Asia/Shanghai), of the
members of the scope's communities; historical hours (历史结转时长) are a line of their own."""
from __future__ import annotations

import dataclasses

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select

from timebank import measures
from timebank.core import clock
from timebank.extensions import db
from timebank.orgs.models import OrgKind, OrgNode
from timebank.orgs.queries import subtree_ids
from timebank.catalogue.models import PostCategory
from timebank.posts.models import Post, PostSession, PostStatus
from timebank.reports.queries import ParticipationRates

#: the id of the units table's row for members without a unit.
NO_UNIT_ID = 0


@dataclasses.dataclass
class OrgFigures(ParticipationRates):
    id: int
    name: str
    registered: int = 0
    reported: int = 0
    active: int = 0
    minutes: int = 0
    sessions: int = 0
    historical: int = 0
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
        return measures.claim_rate_of(dataclasses.asdict(self))

    @property
    def attendance_rate(self) -> float | None:
        return measures.attendance_rate_of(dataclasses.asdict(self))

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
    #: the scope's figures for the year, straight from the measures (what the tables add up to).
    figures: dict[str, int | float | None] = dataclasses.field(default_factory=dict)

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
        return self.figures.get("claim_rate")

    @property
    def attendance_rate(self) -> float | None:
        return self.figures.get("attendance_rate")


#: OrgFigures attribute -> the measure it shows.
_ROW_MEASURES = {
    "registered": measures.registered_members, "reported": measures.reported_members,
    "active": measures.active_members, "minutes": measures.verified_service_minutes,
    "sessions": measures.service_sessions, "historical": measures.historical_minutes,
}


def build(scope: OrgNode, year: int) -> Dashboard:
    period = measures.Period.year(year)
    communities_in = subtree_ids(scope, OrgKind.COMMUNITY)
    communities = {c.id: OrgFigures(c.id, c.name) for c in db.session.execute(
        select(OrgNode).where(OrgNode.id.in_(communities_in)).order_by(OrgNode.path)).scalars()}
    units: dict[int, OrgFigures] = {}
    for attr, fn in _ROW_MEASURES.items():
        for community_id, n in measures.breakdown(fn, scope, period, ("community",)).items():
            if community_id in communities:
                setattr(communities[community_id], attr, n)
        for unit_id, n in measures.by_unit(fn, scope, period).items():
            key = NO_UNIT_ID if unit_id is None else unit_id
            if key not in units:
                units[key] = OrgFigures(key, "")
            setattr(units[key], attr, n)
    names = dict(db.session.execute(select(OrgNode.id, OrgNode.name).where(
        OrgNode.id.in_([u for u in units if u != NO_UNIT_ID]))).all()) if units else {}
    for key, u in units.items():
        u.name = str(_l("No work unit")) if key == NO_UNIT_ID else names.get(key, "")

    months = {m: MonthFigures(m) for m in range(1, 13)}
    for m, counts in measures.attendance_counts(scope, period, by=("month",)).items():
        f = months[m]
        f.places, f.claimed, f.attended, f.no_shows = (
            counts["places"], counts["claimed"], counts["attended"], counts["no_shows"])
    for (m, category_id), minutes in measures.breakdown(
            measures.verified_service_minutes, scope, period, ("month", "category")).items():
        months[int(m)].minutes_by_category[int(category_id)] = minutes

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
    counts = measures.attendance_counts(scope, period)
    figures = {name: fn(scope, period) for name, fn in (
        ("registered_members", measures.registered_members),
        ("reported_members", measures.reported_members),
        ("active_members", measures.active_members),
        ("verified_service_minutes", measures.verified_service_minutes),
        ("service_sessions", measures.service_sessions),
        ("historical_minutes", measures.historical_minutes))}
    figures["claim_rate"] = measures.claim_rate_of(counts)
    figures["attendance_rate"] = measures.attendance_rate_of(counts)
    ordered_units = sorted((u for k, u in units.items() if k != NO_UNIT_ID),
                           key=lambda u: (-u.minutes, -u.reported, u.name))
    if NO_UNIT_ID in units:
        ordered_units.append(units[NO_UNIT_ID])
    return Dashboard(
        scope=scope, year=year, communities=list(communities.values()), units=ordered_units,
        months=[months[m] for m in range(1, 13)], categories=categories, figures=figures)


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
