"""Rankings and the reads behind the recognition pages.

A year's ranking is one aggregate query over the ledger's transactions: each transaction that
changes a member's verified service (a deposit, or the reversal of one) carries the member's
account and the minutes, so the year's figure is their sum over transactions made in the year
(Asia/Shanghai calendar year). A reversal counts when it is made, like the ledger's own
``service_minutes``; a deposit reversed in the same year counts nothing.

Order: verified minutes (most first); ties broken by sessions served (verified service records
deposited in the year, net of reversed ones) and then by who reached their total first (the time
of their last deposit or reversal in the year: after it, the total did not change).
"""
from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import and_, case, func, or_, select

from timebank.accounts.models import User
from timebank.core import clock
from timebank.extensions import db
from timebank.ledger.models import Account, Transaction
from timebank.members.models import Member
from timebank.orgs.models import OrgKind, OrgNode
from timebank.orgs.queries import subtree_ids
from timebank.recognition import rules
from timebank.recognition.models import (AwardList, AwardNominee, AwardObjection, ListStatus,
                                         NomineeStatus, ObjectionStatus, RankingSnapshot)

#: The ledger's source type of deposits made for verified service records (posts feature).
SERVICE_RECORD = "service_record"


@dataclasses.dataclass(frozen=True)
class RankRow:
    rank: int
    member_id: int
    name: str
    community_id: int
    community_name: str
    unit_name: str | None
    minutes: int
    sessions: int
    reached_at: dt.datetime
    #: All-time verified service, for the star level.
    total_minutes: int
    star_level: int


@dataclasses.dataclass(frozen=True)
class Ranking:
    scope: OrgNode
    year: int
    total: int
    rows: list[RankRow]


def _member_filter(scope: OrgNode):
    if scope.kind == OrgKind.UNIT:
        return Member.unit_id == scope.id
    if scope.kind == OrgKind.COMMUNITY:
        return Member.community_id == scope.id
    return Member.community_id.in_(subtree_ids(scope, OrgKind.COMMUNITY))


def _aggregate(scope: OrgNode, year: int):
    """Per member of ``scope``: minutes, sessions and reached-at for ``year`` (a subquery)."""
    start, end = clock.local_year_bounds(year)
    t = Transaction
    sessions = func.sum(case(
        (and_(t.source_type == SERVICE_RECORD, t.kind == "deposit"), 1),
        (and_(t.source_type == SERVICE_RECORD, t.kind == "reversal"), -1),
        else_=0))
    return (
        select(Account.member_id.label("member_id"),
               func.sum(t.service_minutes).label("minutes"),
               sessions.label("sessions"),
               func.max(t.created_at).label("reached_at"))
        .select_from(t)
        .join(Account, Account.id == t.service_account_id)
        .join(Member, Member.id == Account.member_id)
        # Written exactly as the partial index's condition, so both databases can use it.
        .where(t.service_minutes != 0, t.created_at >= start, t.created_at < end,
               _member_filter(scope))
        .group_by(Account.member_id)
        .having(func.sum(t.service_minutes) > 0)
        .subquery("agg")
    )


def ranking(scope: OrgNode, year: int, limit: int | None = None, offset: int = 0,
            member_ids: list[int] | None = None) -> Ranking:
    """The ranking of ``scope`` for ``year``: one SQL query (aggregate, window rank, names).

    Members with equal minutes, sessions and reached-at time share a rank ("1, 2, 2, 4").
    ``limit``/``offset`` page through it; ``member_ids`` picks rows (ranks stay the scope's).
    """
    agg = _aggregate(scope, year)
    order = (agg.c.minutes.desc(), agg.c.sessions.desc(), agg.c.reached_at.asc())
    ranked = select(
        agg,
        func.rank().over(order_by=order).label("rank"),
        func.count().over().label("total"),
    ).subquery("ranked")
    community = OrgNode.__table__.alias("community")
    unit = OrgNode.__table__.alias("unit")
    stmt = (
        select(ranked.c.rank, ranked.c.member_id, ranked.c.minutes, ranked.c.sessions,
               ranked.c.reached_at, ranked.c.total, User.name, Member.community_id,
               community.c.name.label("community_name"), unit.c.name.label("unit_name"),
               Account.service_minutes.label("total_minutes"))
        .select_from(ranked)
        .join(Member, Member.id == ranked.c.member_id)
        .join(User, User.id == Member.user_id)
        .join(community, community.c.id == Member.community_id)
        .outerjoin(unit, unit.c.id == Member.unit_id)
        .join(Account, Account.member_id == ranked.c.member_id)
        .order_by(ranked.c.rank, ranked.c.member_id)
    )
    if member_ids is not None:
        stmt = stmt.where(ranked.c.member_id.in_(member_ids))
    if limit is not None:
        stmt = stmt.limit(limit).offset(offset)
    thresholds = rules.star_thresholds()
    rows, total = [], None
    for r in db.session.execute(stmt):
        total = r.total
        rows.append(RankRow(
            rank=r.rank, member_id=r.member_id, name=r.name, community_id=r.community_id,
            community_name=r.community_name, unit_name=r.unit_name, minutes=int(r.minutes),
            sessions=int(r.sessions), reached_at=_utc(r.reached_at),
            total_minutes=int(r.total_minutes),
            star_level=rules.star_level(int(r.total_minutes), thresholds)))
    if total is None:
        total = count(scope, year) if offset else 0
    return Ranking(scope=scope, year=year, total=int(total), rows=rows)


def count(scope: OrgNode, year: int) -> int:
    agg = _aggregate(scope, year)
    return db.session.execute(select(func.count()).select_from(agg)).scalar_one()


def _utc(value) -> dt.datetime:
    # MAX() over a timestamp comes back from SQLite as text on some paths; normalise.
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=clock.UTC)


# --- star levels ---------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Star:
    level: int
    total_minutes: int
    #: Hours needed for the next level, None at the top.
    next_hours: int | None


def member_star(member: Member | int) -> Star:
    from timebank.ledger.queries import member_figures

    total = member_figures(member).service_minutes
    thresholds = rules.star_thresholds()
    level = rules.star_level(total, thresholds)
    return Star(level, total, thresholds[level] if level < len(thresholds) else None)


def member_ranks(member: Member, year: int) -> list[tuple[OrgNode, RankRow | None, int]]:
    """The member's place in the rankings of their community, street, district and unit."""
    scopes = [member.community, member.community.street,
              member.community.ancestor_of_kind(OrgKind.DISTRICT), member.unit]
    out = []
    for scope in scopes:
        if scope is None:
            continue
        r = ranking(scope, year, member_ids=[member.id])
        out.append((scope, r.rows[0] if r.rows else None, count(scope, year)))
    return out


# --- scopes ----------------------------------------------------------------------------------

def ranking_scopes(user) -> list[OrgNode]:
    """Nodes whose rankings ``user`` may see: everything they manage down to communities, and
    the units in it; a liaison's own unit."""
    nodes: dict[int, OrgNode] = {}
    for root in user.scope_roots():
        stmt = select(OrgNode).where(
            OrgNode.path.like(f"{root.path}%"),
            OrgNode.kind.in_([OrgKind.DISTRICT, OrgKind.STREET, OrgKind.COMMUNITY,
                              OrgKind.UNIT]))
        for n in db.session.execute(stmt).scalars():
            nodes[n.id] = n
    for n in user.role_nodes("unit_liaison"):
        nodes[n.id] = n
    order = {OrgKind.DISTRICT: 0, OrgKind.STREET: 1, OrgKind.COMMUNITY: 2, OrgKind.UNIT: 3}
    return sorted(nodes.values(), key=lambda n: (order[OrgKind(n.kind)], n.path))


def can_see_ranking(user, scope: OrgNode) -> bool:
    if scope.kind == OrgKind.GRID:
        return False
    if user.manages(scope):
        return True
    return scope.kind == OrgKind.UNIT and user.has_role("unit_liaison", scope)


def organiser_scopes(user) -> list[OrgNode]:
    """Nodes ``user`` may draw award lists for (street and district admins)."""
    return [n for n in ranking_scopes(user) if user.administers(n)]


# --- award lists -------------------------------------------------------------------------------

def lists_for(user):
    """Award lists ``user`` may see, newest year first (a select for paging)."""
    from timebank.members.models import Member as M

    conditions = []
    for root in user.role_nodes("district_admin", "street_admin"):
        conditions.append(AwardList.scope_id.in_(subtree_ids(root)))
    visible_published = []
    for root in user.role_nodes("community_staff"):
        visible_published.append(AwardList.scope_id.in_(subtree_ids(root)))
    for unit in user.role_nodes("unit_liaison"):
        visible_published.append(AwardList.scope_id == unit.id)
    member = db.session.query(M).filter_by(user_id=user.id).one_or_none()
    if member is not None and member.is_approved:
        ancestors = member.community.ancestor_ids
        visible_published.append(AwardList.scope_id.in_(ancestors))
        if member.unit_id:
            visible_published.append(AwardList.scope_id == member.unit_id)
    if visible_published:
        conditions.append(and_(AwardList.status != ListStatus.DRAFT, or_(*visible_published)))
    stmt = select(AwardList).order_by(AwardList.year.desc(), AwardList.id.desc())
    if not conditions:
        return stmt.where(False)
    return stmt.where(or_(*conditions))


def active_nominees(award_list: AwardList) -> list[AwardNominee]:
    return list(db.session.execute(
        select(AwardNominee).where(AwardNominee.list_id == award_list.id,
                                   AwardNominee.status == NomineeStatus.NOMINATED)
        .order_by(AwardNominee.rank, AwardNominee.id)).scalars())


def all_nominees(award_list: AwardList) -> list[AwardNominee]:
    return list(db.session.execute(
        select(AwardNominee).where(AwardNominee.list_id == award_list.id)
        .order_by(AwardNominee.rank, AwardNominee.id)).scalars())


def objections(award_list: AwardList, filed_by=None) -> list[AwardObjection]:
    stmt = (select(AwardObjection).where(AwardObjection.list_id == award_list.id)
            .order_by(AwardObjection.id))
    if filed_by is not None:
        stmt = stmt.where(AwardObjection.filed_by_id == filed_by.id)
    return list(db.session.execute(stmt).scalars())


def open_objection_count(award_list: AwardList) -> int:
    return db.session.execute(
        select(func.count()).where(AwardObjection.list_id == award_list.id,
                                   AwardObjection.status == ObjectionStatus.OPEN)).scalar_one()


def snapshot(year: int, scope: OrgNode) -> RankingSnapshot | None:
    return db.session.execute(
        select(RankingSnapshot).where(RankingSnapshot.year == year,
                                      RankingSnapshot.scope_id == scope.id)).scalar_one_or_none()
