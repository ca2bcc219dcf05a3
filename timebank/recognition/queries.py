"""Rankings and the reads behind the recognition pages.

A year's figures per member come from ``recognition_service_totals``, which a database trigger
keeps in step with every ledger entry that changes verified service (a deposit, or the
reversal of one), by the entry's time in the Asia/Shanghai calendar year. A reversal counts when
it is made, like the ledger's own ``service_minutes``; a deposit reversed in the same year counts
nothing. ``totals_from_ledger`` recomputes the same figures from the ledger's transactions (one
aggregate query) so they can be checked.

Order: verified minutes (most first); ties broken by sessions served (verified service records
deposited in the year, net of reversed ones) and then by who reached their total first: whose
last ledger entry of the year that changed it came first. Ledger ids follow the order in which
entries were written, so ranks are never shared.
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


def _member_filter(scope: OrgNode):
    """Which members a scope ranks, as a condition on ``Member`` (None: every member)."""
    if scope.kind == OrgKind.UNIT:
        return Member.unit_id == scope.id
    if scope.kind == OrgKind.COMMUNITY:
        return Member.community_id == scope.id
    if scope.kind == OrgKind.DISTRICT and _only_district():
        return None  # the one district holds every member: nothing to filter
    return Member.community_id.in_(subtree_ids(scope, OrgKind.COMMUNITY))


def _only_district() -> bool:
    return db.session.execute(select(func.count()).select_from(OrgNode).where(
        OrgNode.kind == OrgKind.DISTRICT)).scalar_one() == 1


def _in_scope(stmt, scope: OrgNode, year: int):
    t = ServiceYearTotal
    stmt = stmt.where(t.year == year, t.minutes > 0)
    condition = _member_filter(scope)
    if condition is not None:
        stmt = stmt.join(Member, Member.id == t.member_id).where(condition)
    return stmt


#: The ranking order; ``ix_recognition_service_totals_ranking`` holds rows in exactly this
#: order, so a page is read off the index.
def _order():
    t = ServiceYearTotal
    return (t.minutes.desc(), t.sessions.desc(), t.last_transaction_id.asc())


def ranking(scope: OrgNode, year: int, limit: int | None = None, offset: int = 0,
            member_ids: list[int] | None = None) -> Ranking:
    """The ranking of ``scope`` for ``year``: members' yearly totals in ranking order, with
    names, a page (``limit``/``offset``) or all of it; ``member_ids`` picks rows instead.

    One statement reads the rows (in index order, joined to names); the total is a count.
    """
    t = ServiceYearTotal
    if member_ids is not None:
        rows = [r for r in (_row_of(scope, year, m) for m in member_ids) if r is not None]
        return Ranking(scope=scope, year=year, total=count(scope, year), rows=rows)
    ordered = _in_scope(select(t.member_id, t.minutes, t.sessions, t.last_transaction_id),
                        scope, year).order_by(*_order())
    if limit is not None:
        ordered = ordered.limit(limit).offset(offset)
    rows = _with_names(ordered.subquery("ranked"), first_rank=offset + 1)
    total = count(scope, year) if (limit is not None or offset) else len(rows)
    return Ranking(scope=scope, year=year, total=total, rows=rows)


def _with_names(ranked, first_rank: int) -> list[RankRow]:
    community = OrgNode.__table__.alias("community")
    unit = OrgNode.__table__.alias("unit")
    stmt = (
        select(ranked.c.member_id, ranked.c.minutes, ranked.c.sessions, User.name,
               Member.community_id, community.c.name.label("community_name"),
               unit.c.name.label("unit_name"), Account.service_minutes.label("total_minutes"),
               Transaction.created_at.label("reached_at"))
        .select_from(ranked)
        .join(Member, Member.id == ranked.c.member_id)
        .join(User, User.id == Member.user_id)
        .join(community, community.c.id == Member.community_id)
        .outerjoin(unit, unit.c.id == Member.unit_id)
        .join(Account, Account.member_id == ranked.c.member_id)
        .join(Transaction, Transaction.id == ranked.c.last_transaction_id)
        .order_by(ranked.c.minutes.desc(), ranked.c.sessions.desc(),
                  ranked.c.last_transaction_id.asc())
    )
    thresholds = rules.star_thresholds()
    return [RankRow(
        rank=first_rank + i, member_id=r.member_id, name=r.name, community_id=r.community_id,
        community_name=r.community_name, unit_name=r.unit_name, minutes=int(r.minutes),
        sessions=int(r.sessions), reached_at=r.reached_at, total_minutes=int(r.total_minutes),
        star_level=rules.star_level(int(r.total_minutes), thresholds),
    ) for i, r in enumerate(db.session.execute(stmt))]


def _row_of(scope: OrgNode, year: int, member_id: int) -> RankRow | None:
    """One member's row, ranked by counting the members of the scope ahead of them."""
    t = ServiceYearTotal
    mine = db.session.execute(select(t.minutes, t.sessions, t.last_transaction_id).where(
        t.member_id == member_id, t.year == year, t.minutes > 0)).first()
    if mine is None:
        return None
    stmt = select(t.member_id).where(t.member_id == member_id, t.year == year)
    condition = _member_filter(scope)
    if condition is not None:
        stmt = stmt.join(Member, Member.id == t.member_id).where(condition)
    if db.session.execute(stmt).first() is None:
        return None  # not in this scope
    ahead = or_(t.minutes > mine.minutes,
                and_(t.minutes == mine.minutes, t.sessions > mine.sessions),
                and_(t.minutes == mine.minutes, t.sessions == mine.sessions,
                     t.last_transaction_id < mine.last_transaction_id))
    n_ahead = db.session.execute(
        _in_scope(select(func.count()).select_from(t), scope, year).where(ahead)).scalar_one()
    [row] = _with_names(stmt.add_columns(t.minutes, t.sessions, t.last_transaction_id)
                        .subquery("ranked"), first_rank=n_ahead + 1)
    return row


def count(scope: OrgNode, year: int) -> int:
    t = ServiceYearTotal
    return db.session.execute(
        _in_scope(select(func.count()).select_from(t), scope, year)).scalar_one()


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
