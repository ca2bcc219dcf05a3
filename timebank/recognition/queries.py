"""Rankings and the reads behind the recognition pages.

A year's figure per member is the measure ``verified_service_minutes`` (timebank.measures):
verified, un-reversed service records by the day served in the Asia/Shanghai calendar year,
never deposits without a service record; historical hours (历史结转时长) join it only when the
setting ``recognition.rank_historical_hours`` says so. Sessions are ``service_sessions``.

Order: verified minutes (most first); ties broken by sessions served and then by who reached their
total first: whose last ledger entry that changed it (the deposit of a counted record, or the
reversal of one of the year's records) came first. Ledger ids follow the order in which entries
were written, so ranks are never shared.

``recognition_service_totals`` (kept by a database trigger, by ledger entry time) stays as the
ledger's own cross-check (``totals_from_ledger``, ``totals_mismatches``); rankings do not read it.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import and_, case, func, or_, select

from timebank import measures
from timebank.accounts.models import User
from timebank.core import clock
from timebank.extensions import db
from timebank.ledger.models import Account, Transaction
from timebank.members.models import Member
from timebank.orgs.models import OrgKind, OrgNode
from timebank.orgs.queries import subtree_ids
from timebank.recognition import rules
from timebank.recognition.models import (
    AwardList,
    AwardNominee,
    AwardObjection,
    ListStatus,
    NomineeStatus,
    ObjectionStatus,
    RankingSnapshot,
    ServiceYearTotal,
)

#: The ledger's source type of deposits made for verified service records (posts feature).
SERVICE_RECORD = "service_record"


@dataclasses.dataclass(frozen=True, slots=True)
class RankRow:
    rank: int
    member_id: int
    name: str
    community_id: int
    community_name: str
    unit_name: str | None
    minutes: int
    sessions: int
    #: When the member's total for the year was reached (their last entry changing it).
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


def _last_changes(scope: OrgNode, period: measures.Period, historical: bool) -> dict[int, int]:
    """member id -> id of the last ledger entry that changed the member's figure for the period:
    deposits for (and reversals of deposits for) service records served in the period, and the
    historical deposits of the period when they count."""
    from timebank.posts.models import ServiceRecord

    r = ServiceRecord
    condition = measures._member_condition(scope)
    reversal = Transaction.__table__.alias("reversal")
    stmt = (select(r.member_id, func.max(func.coalesce(reversal.c.id, r.transaction_id)))
            .join(Member, Member.id == r.member_id)
            .outerjoin(reversal, reversal.c.reverses_id == r.transaction_id)
            .where(r.transaction_id.is_not(None), r.started_at >= period.start,
                   r.started_at < period.end)
            .group_by(r.member_id))
    if condition is not None:
        stmt = stmt.where(condition)
    out = {int(m): int(t) for m, t in db.session.execute(stmt)}
    if historical:
        h = (select(Member.id, func.max(Transaction.id))
             .join(Account, Account.id == Transaction.service_account_id)
             .join(Member, Member.id == Account.member_id)
             .where(Transaction.source_type == measures.HISTORICAL_SOURCE,
                    Transaction.created_at >= period.start, Transaction.created_at < period.end)
             .group_by(Member.id))
        if condition is not None:
            h = h.where(condition)
        for m, t in db.session.execute(h):
            out[int(m)] = max(out.get(int(m), 0), int(t))
    return out


def _figures(scope: OrgNode, period: measures.Period | None) -> dict[int, int]:
    """member id -> the minutes that rank: verified service (+ historical if the setting says)."""
    minutes = measures.breakdown(measures.verified_service_minutes, scope, period, ("member",))
    if rules.rank_historical():
        for m, v in measures.breakdown(measures.historical_minutes, scope, period,
                                       ("member",)).items():
            minutes[m] = minutes.get(m, 0) + v
    return minutes


def _ordered(scope: OrgNode, year: int) -> list[tuple[int, int, int, int]]:
    """(member id, minutes, sessions, last entry id) of every ranked member, in ranking order."""
    period = measures.Period.year(year)
    minutes = _figures(scope, period)
    sessions = measures.breakdown(measures.service_sessions, scope, period, ("member",))
    last = _last_changes(scope, period, rules.rank_historical())
    rows = [(m, v, sessions.get(m, 0), last.get(m, 0)) for m, v in minutes.items() if v > 0]
    rows.sort(key=lambda r: (-r[1], -r[2], r[3]))
    return rows


def ranking(scope: OrgNode, year: int, limit: int | None = None, offset: int = 0,
            member_ids: list[int] | None = None) -> Ranking:
    """The ranking of ``scope`` for ``year``: members' yearly figures in ranking order, with
    names, a page (``limit``/``offset``) or all of it; ``member_ids`` picks rows instead."""
    ordered = _ordered(scope, year)
    ranked = [(i + 1,) + r for i, r in enumerate(ordered)]
    if member_ids is not None:
        wanted = set(member_ids)
        picked = [r for r in ranked if r[1] in wanted]
    else:
        picked = ranked[offset:offset + limit] if limit is not None else ranked[offset:]
    return Ranking(scope=scope, year=year, total=len(ranked), rows=_with_names(picked))


def _with_names(picked: list[tuple[int, int, int, int, int]]) -> list[RankRow]:
    if not picked:
        return []
    ids = [r[1] for r in picked]
    community = OrgNode.__table__.alias("community")
    unit = OrgNode.__table__.alias("unit")
    names = {r.id: r for r in db.session.execute(
        select(Member.id, User.name, Member.community_id,
               community.c.name.label("community_name"), unit.c.name.label("unit_name"))
        .join(User, User.id == Member.user_id)
        .join(community, community.c.id == Member.community_id)
        .outerjoin(unit, unit.c.id == Member.unit_id)
        .where(Member.id.in_(ids)))}
    reached = dict(db.session.execute(select(Transaction.id, Transaction.created_at).where(
        Transaction.id.in_([r[4] for r in picked]))).all())
    totals = all_time_minutes(ids)
    thresholds = rules.star_thresholds()
    return [RankRow(
        rank=rank, member_id=m, name=names[m].name, community_id=names[m].community_id,
        community_name=names[m].community_name, unit_name=names[m].unit_name, minutes=minutes,
        sessions=sessions, reached_at=reached.get(last), total_minutes=totals.get(m, 0),
        star_level=rules.star_level(totals.get(m, 0), thresholds),
    ) for rank, m, minutes, sessions, last in picked]


def all_time_minutes(member_ids: list[int]) -> dict[int, int]:
    """member id -> all-time minutes for star levels (verified service, + historical hours if
    the ranking setting counts them)."""
    out = measures.per_member(measures.verified_service_minutes, member_ids)
    if rules.rank_historical():
        for m, v in measures.per_member(measures.historical_minutes, member_ids).items():
            out[m] += v
    return out


def count(scope: OrgNode, year: int) -> int:
    return len(_ordered(scope, year))


def totals_from_ledger(year: int, bind=None) -> dict[int, tuple[int, int, int]]:
    """member id -> (minutes, sessions, last transaction id) for ``year``, computed from the
    ledger's transactions in one aggregate query (what the trigger-kept totals must equal).
    ``bind``: a connection to read on (ledger verify's snapshot); the session by default."""
    start, end = clock.local_year_bounds(year)
    t = Transaction
    sessions = func.sum(case(
        (and_(t.source_type == SERVICE_RECORD, t.kind == "deposit"), 1),
        (and_(t.source_type == SERVICE_RECORD, t.kind == "reversal"), -1),
        else_=0))
    stmt = (
        select(Account.member_id, func.sum(t.service_minutes), sessions, func.max(t.id))
        .join(Account, Account.id == t.service_account_id)
        .where(t.service_minutes != 0, t.created_at >= start, t.created_at < end,
               Account.member_id.is_not(None))
        .group_by(Account.member_id)
    )
    return {m: (int(mins), int(s), int(last))
            for m, mins, s, last in (bind or db.session).execute(stmt)}


def totals_mismatches(year: int, bind=None) -> list[tuple[int, tuple | None, tuple | None]]:
    """Members whose kept totals for ``year`` differ from the ledger: (member, kept, ledger)."""
    rows = (bind or db.session).execute(
        select(ServiceYearTotal.member_id, ServiceYearTotal.minutes, ServiceYearTotal.sessions,
               ServiceYearTotal.last_transaction_id).where(ServiceYearTotal.year == year))
    kept = {m: (int(mins), int(s), int(last)) for m, mins, s, last in rows}
    ledger = totals_from_ledger(year, bind)
    return [(m, kept.get(m), ledger.get(m)) for m in sorted(set(kept) | set(ledger))
            if kept.get(m) != ledger.get(m)]


# --- star levels ---------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Star:
    level: int
    total_minutes: int
    #: Hours needed for the next level, None at the top.
    next_hours: int | None


def member_star(member: Member | int) -> Star:
    member_id = member if isinstance(member, int) else member.id
    total = all_time_minutes([member_id])[member_id]
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
