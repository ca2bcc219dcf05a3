"""One source of truth for every figure a person reads (issue 13).

Each figure is ONE function here, with a one-line definition in its docstring; pages, exports
and the API call these functions instead of counting on their own. ``REGISTRY`` maps a measure's
name to its function, label and definition and feeds the glossary page (``/measures/``). A label
belongs to one measure only (``REGISTRY`` refuses a second measure with the same label).

Scope: an org node or None for everything. A member belongs to the scope of the community they
report to (district, street, community: the member's community is in the node's subtree), of
their grid, or of their unit (unit scope: the unit's members, wherever they live); so a district's
figure is the sum of its communities' and of its units' (plus the members without a unit).

Period: a ``Period``, half-open [start, end) in UTC, or None for all time; ``Period.year`` and
``Period.month`` are Asia/Shanghai calendar bounds, so the months of a year add up to the year.

Which date a figure counts on:
- verified service counts on the service record's service date (``started_at``, when the member
  served), not when staff verified it or when the ledger deposit was written; a record whose
  deposit was reversed (revoked) counts nowhere;
- historical hours (历史结转时长) count on the time of their import (the ledger entry's time);
- registered and reported members count up to the period's end (registration / approval time);
- places, claims and attendance count on the session's start time, in the posting community.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

from sqlalchemy import and_, case, func, literal_column, select
from sqlalchemy.orm import aliased

from timebank.core import figures
from timebank.extensions import db
from timebank.ledger.models import Transaction, TxKind
from timebank.members.models import Member, MemberStatus

#: the deposits that are verified service: they name a service record as their source.
SERVICE_SOURCE = "service_record"
#: the deposits of the audited historical-hours import (历史结转时长).
HISTORICAL_SOURCE = "historical"
#: the key of the row for members without a unit in ``by_unit``; of service without a category
#: in ``by_category``.
NO_UNIT = None
NO_CATEGORY = 0


#: the period of every measure (defined in core so that lower layers can pass one).
Period = figures.Period


@dataclasses.dataclass(frozen=True)
class Measure:
    name: str
    label: str
    definition: str
    function: Callable


REGISTRY: dict[str, Measure] = {}


def measure(label: str):
    """Register a function as a measure; its docstring's first line is its definition."""
    def wrap(fn):
        definition = (fn.__doc__ or "").strip().splitlines()[0]
        taken = [m.name for m in REGISTRY.values() if m.label == label and m.name != fn.__name__]
        if taken:
            raise ValueError(f"label {label!r} already belongs to measure {taken[0]}")
        REGISTRY[fn.__name__] = Measure(fn.__name__, label, definition, fn)
        figures.provide(fn.__name__, fn)
        return fn
    return wrap


def label(name: str) -> str:
    """The one label of a measure (templates: ``measure_label(name)``)."""
    return REGISTRY[name].label


figures.provide("__label__", label)


def _member_condition(scope):
    """Which members a scope holds, as a condition on ``Member`` (None: every member)."""
    if scope is None:
        return None
    from timebank.orgs.models import OrgKind
    kind = OrgKind(scope.kind)
    if kind == OrgKind.UNIT:
        return Member.unit_id == scope.id
    if kind == OrgKind.GRID:
        return Member.grid_id == scope.id
    if kind == OrgKind.COMMUNITY:
        return Member.community_id == scope.id
    return Member.community_id.in_(_descendant_ids(scope))


def _member_scope(stmt, scope):
    """Restrict a statement that joins Member to the members of an org node."""
    condition = _member_condition(scope)
    return stmt if condition is None else stmt.where(condition)


def _descendant_ids(node) -> list[int]:
    from timebank.orgs.models import OrgNode
    ids, frontier = [node.id], [node.id]
    while frontier:
        frontier = list(db.session.execute(
            select(OrgNode.id).where(OrgNode.parent_id.in_(frontier))).scalars())
        ids += frontier
    return ids


def local_month(column):
    """The calendar month (1-12) of a UTC timestamp column in Asia/Shanghai (UTC+8, no DST)."""
    if db.engine.dialect.name == "postgresql":
        return func.cast(func.extract("month", column + literal_column("INTERVAL '8 hours'")),
                         db.Integer)
    return func.cast(func.strftime("%m", column, "+8 hours"), db.Integer)


def _in_period(stmt, column, period: Period | None):
    if period is not None and period.start is not None:
        stmt = stmt.where(column >= period.start)
    if period is not None and period.end is not None:
        stmt = stmt.where(column < period.end)
    return stmt


# --- verified service: service records -------------------------------------------------------

def _group_columns(by: tuple[str, ...], date_column):
    from timebank.catalogue.models import PostKind  # noqa: F401
    cols = {"community": Member.community_id, "unit": Member.unit_id, "member": Member.id,
            "month": local_month(date_column)}
    out = []
    for key in by:
        if key == "category":
            from timebank.catalogue.models import PostKind
            # a literal, not a bound 0: PostgreSQL must see the same expression in GROUP BY
            out.append(func.coalesce(PostKind.category_id, literal_column(str(NO_CATEGORY))))
        else:
            out.append(cols[key])
    return out


def _service(value: str, scope, period: Period | None, member=None, by: tuple[str, ...] = ()):
    """The verified, un-reversed service records of the scope's members served in the period:
    ``value`` is 'minutes', 'sessions' or 'members', grouped ``by`` keys (dict) or not (int)."""
    from timebank.catalogue.models import PostKind
    from timebank.posts.models import RecordStatus, ServiceRecord

    reversal = aliased(Transaction)
    r = ServiceRecord
    agg = {"minutes": func.coalesce(func.sum(r.minutes), 0), "sessions": func.count(r.id),
           "members": func.count(func.distinct(r.member_id))}[value]
    keys = _group_columns(by, r.started_at)
    stmt = (select(*keys, agg).select_from(r)
            .join(Member, Member.id == r.member_id)
            .join(Transaction, and_(Transaction.id == r.transaction_id,
                                    Transaction.kind == TxKind.DEPOSIT.value))
            .where(r.status == RecordStatus.VERIFIED.value,
                   ~select(reversal.id).where(reversal.reverses_id == Transaction.id).exists()))
    if "category" in by:
        stmt = stmt.outerjoin(PostKind, PostKind.id == r.kind_id)
    if isinstance(member, (list, tuple, set)):
        stmt = stmt.where(r.member_id.in_(list(member)))
    elif member is not None:
        stmt = stmt.where(r.member_id == getattr(member, "id", member))
    stmt = _in_period(_member_scope(stmt, scope), r.started_at, period)
    if not by:
        return int(db.session.execute(stmt).scalar_one())
    stmt = stmt.group_by(*keys)
    out = {}
    for row in db.session.execute(stmt):
        key = tuple(row[:-1]) if len(by) > 1 else row[0]
        out[key] = int(row[-1])
    return out


def _historical(scope, period: Period | None, member=None, by: tuple[str, ...] = ()):
    from timebank.ledger.models import Account
    reversal = aliased(Transaction)
    keys = _group_columns(by, Transaction.created_at)
    stmt = (select(*keys, func.coalesce(func.sum(Transaction.service_minutes), 0))
            .join(Account, Account.id == Transaction.service_account_id)
            .join(Member, Member.id == Account.member_id)
            .where(Transaction.kind == TxKind.DEPOSIT.value,
                   Transaction.source_type == HISTORICAL_SOURCE,
                   ~select(reversal.id).where(reversal.reverses_id == Transaction.id).exists()))
    if isinstance(member, (list, tuple, set)):
        stmt = stmt.where(Member.id.in_(list(member)))
    elif member is not None:
        stmt = stmt.where(Member.id == getattr(member, "id", member))
    stmt = _in_period(_member_scope(stmt, scope), Transaction.created_at, period)
    if not by:
        return int(db.session.execute(stmt).scalar_one())
    return {(tuple(row[:-1]) if len(by) > 1 else row[0]): int(row[-1])
            for row in db.session.execute(stmt.group_by(*keys))}


@measure("已认证服务时长")
def verified_service_minutes(scope=None, period: Period | None = None, member=None) -> int:
    """Minutes of verified, un-reversed service records, counted on the day served (never deposits without a service record)."""
    return _service("minutes", scope, period, member)


@measure("历史结转时长")
def historical_minutes(scope=None, period: Period | None = None, member=None) -> int:
    """Minutes brought over by the audited historical-hours import, un-reversed, counted when imported; not service."""
    return _historical(scope, period, member)


@measure("服务场次")
def service_sessions(scope=None, period: Period | None = None, member=None) -> int:
    """Number of verified, un-reversed service records served in the period."""
    return _service("sessions", scope, period, member)


@measure("活跃党员")
def active_members(scope=None, period: Period | None = None) -> int:
    """Members with at least one verified, un-reversed service record served in the period."""
    return _service("members", scope, period)


verified_service_minutes.grouped = lambda scope, period, by: _service("minutes", scope, period, by=by)
historical_minutes.grouped = lambda scope, period, by: _historical(scope, period, by=by)
service_sessions.grouped = lambda scope, period, by: _service("sessions", scope, period, by=by)
active_members.grouped = lambda scope, period, by: _service("members", scope, period, by=by)


# --- members -----------------------------------------------------------------------------------

def _members(condition, date_column, scope, period: Period | None, by: tuple[str, ...] = ()):
    keys = _group_columns(by, date_column)
    stmt = select(*keys, func.count(Member.id)).where(condition)
    if period is not None and period.end is not None:
        # a row without the date (written before it was kept) counts as always there
        stmt = stmt.where(date_column.is_(None) | (date_column < period.end))
    stmt = _member_scope(stmt, scope)
    if not by:
        return int(db.session.execute(stmt).scalar_one())
    return {(tuple(row[:-1]) if len(by) > 1 else row[0]): int(row[-1])
            for row in db.session.execute(stmt.group_by(*keys))}


@measure("注册党员")
def registered_members(scope=None, period: Period | None = None) -> int:
    """Members registered (any status except rejected) before the period's end."""
    return _members(Member.status != MemberStatus.REJECTED.value, Member.created_at, scope, period)


@measure("已报到")
def reported_members(scope=None, period: Period | None = None) -> int:
    """Members whose report (报到) is approved (status approved), approved before the period's end."""
    return _members(Member.status == MemberStatus.APPROVED.value, Member.reviewed_at, scope, period)


def report_rate_of(reported: int, registered: int) -> float | None:
    """报到率 from its two counts, for rows already counted (dashboards, cards)."""
    return reported / registered if registered else None


@measure("报到率")
def report_rate(scope=None, period: Period | None = None) -> float | None:
    """已报到 ÷ 注册党员 (None when nobody is registered); see 花名册报到率 for the roster basis."""
    return report_rate_of(reported_members(scope, period), registered_members(scope, period))


registered_members.grouped = lambda scope, period, by: _members(
    Member.status != MemberStatus.REJECTED.value, Member.created_at, scope, period, by)
reported_members.grouped = lambda scope, period, by: _members(
    Member.status == MemberStatus.APPROVED.value, Member.reviewed_at, scope, period, by)


# --- places, claims and attendance ------------------------------------------------------------

def _sessions_filter(stmt, scope, period: Period | None):
    """Sessions (not cancelled) of posts published in the scope's communities, by start time."""
    from timebank.posts.models import Post, PostSession
    stmt = stmt.join(Post, Post.id == PostSession.post_id).where(PostSession.cancelled.is_(False))
    if scope is not None:
        from timebank.orgs.models import OrgKind
        if OrgKind(scope.kind) == OrgKind.UNIT:
            return None
        stmt = stmt.where(Post.community_id.in_(_descendant_ids(scope)))
    return _in_period(stmt, PostSession.starts_at, period)


def attendance_counts(scope=None, period: Period | None = None,
                      by: tuple[str, ...] = ()) -> dict:
    """places, claimed, attended, no_shows of the scope's sessions starting in the period (one
    dict, or a dict of dicts keyed by 'month'); the basis of claim and attendance rates."""
    from timebank.posts.models import Attendance, Claim, ClaimStatus, PostSession
    keys = [local_month(PostSession.starts_at)] if by == ("month",) else []

    def empty():
        return {"places": 0, "claimed": 0, "attended": 0, "no_shows": 0}
    out: dict = {}
    places = _sessions_filter(select(*keys, func.coalesce(func.sum(PostSession.capacity), 0))
                              .select_from(PostSession), scope, period)
    if places is None:
        return out if by else empty()
    claims = _sessions_filter(
        select(*keys, func.count(Claim.id),
               func.coalesce(func.sum(case((Claim.attendance == Attendance.ATTENDED.value, 1),
                                           else_=0)), 0),
               func.coalesce(func.sum(case((Claim.attendance == Attendance.NO_SHOW.value, 1),
                                           else_=0)), 0))
        .select_from(PostSession).join(Claim, Claim.session_id == PostSession.id)
        .where(Claim.status != ClaimStatus.WITHDRAWN.value), scope, period)
    if keys:
        places, claims = places.group_by(*keys), claims.group_by(*keys)
    for row in db.session.execute(places):
        out.setdefault(row[0] if keys else None, empty())["places"] = int(row[-1])
    for row in db.session.execute(claims):
        f = out.setdefault(row[0] if keys else None, empty())
        f["claimed"], f["attended"], f["no_shows"] = int(row[-3]), int(row[-2]), int(row[-1])
    if keys:
        return {int(k): v for k, v in out.items()}
    return out.get(None, empty())


def claim_rate_of(counts: dict) -> float | None:
    return counts["claimed"] / counts["places"] if counts["places"] else None


def attendance_rate_of(counts: dict) -> float | None:
    done = counts["attended"] + counts["no_shows"]
    return counts["attended"] / done if done else None


@measure("认领率")
def claim_rate(scope=None, period: Period | None = None) -> float | None:
    """Places claimed (claims not withdrawn) / places offered, over sessions starting in the period (None: no places)."""
    return claim_rate_of(attendance_counts(scope, period))


@measure("到岗率")
def attendance_rate(scope=None, period: Period | None = None) -> float | None:
    """Claims marked attended / claims marked attended or no-show, over sessions starting in the period (None: none marked)."""
    return attendance_rate_of(attendance_counts(scope, period))


# --- breakdowns ---------------------------------------------------------------------------------

def breakdown(fn, scope, period: Period | None, by: tuple[str, ...]) -> dict:
    """A grouped measure in one query: keys are the ``by`` values ('community', 'unit' (None:
    no unit), 'member', 'month', 'category' (0: no category)), one-tuple keys unwrapped."""
    return fn.grouped(scope, period, tuple(by))


def per_member(fn, member_ids, period: Period | None = None) -> dict[int, int]:
    """Verified service, sessions or historical minutes of each of ``member_ids`` (0 if none)."""
    ids = list(member_ids)
    if not ids:
        return {}
    kind = {verified_service_minutes: "minutes", service_sessions: "sessions"}.get(fn)
    found = (_historical(None, period, ids, ("member",)) if fn is historical_minutes
             else _service(kind, None, period, ids, ("member",)))
    return {m: found.get(m, 0) for m in ids}


def by_unit(fn, scope, period: Period | None = None) -> dict[int | None, int]:
    """A measure per unit of the scope's members, with a ``None`` row for members without a unit."""
    return breakdown(fn, scope, period, ("unit",))


def by_category(fn, scope, period: Period | None = None) -> dict[int, int]:
    """Verified service (minutes or sessions) per post category, ``0`` for service without one."""
    return breakdown(fn, scope, period, ("category",))


def by_community(fn, communities, period: Period | None = None) -> dict[int, int]:
    """A measure per community, so Σ communities can be checked against the total."""
    return {c.id: fn(c, period) for c in communities}


def by_month(fn, scope, year: int) -> dict[int, int]:
    """A measure per month of a year, so Σ months can be checked against the year."""
    return {m: fn(scope, Period.month(year, m)) for m in range(1, 13)}


def glossary() -> list[Measure]:
    """The registered measures in label order, for the glossary page."""
    return sorted(REGISTRY.values(), key=lambda m: m.name)


# Units (issue 14)


def _roster_scope(stmt, scope):
    """Roster rows of units under ``scope``, or whose person lives (per the file, or their member
    record once linked) in a community under it."""
    if scope is None:
        return stmt
    from timebank.units.models import RosterEntry
    ids = _descendant_ids(scope)
    return stmt.where(RosterEntry.unit_id.in_(ids) | RosterEntry.community_id.in_(ids)
                      | Member.community_id.in_(ids))


@measure("花名册人数")
def roster_size(scope=None, period: Period | None = None) -> int:
    """People on the units' party rosters (花名册) in the scope, registered or not."""
    from timebank.units.models import RosterEntry
    stmt = (select(func.count(RosterEntry.id))
            .outerjoin(Member, Member.id == RosterEntry.member_id))
    if period is not None and period.end is not None:
        stmt = stmt.where(RosterEntry.created_at < period.end)
    return int(db.session.execute(_roster_scope(stmt, scope)).scalar_one())


@measure("花名册报到率")
def roster_report_rate(scope=None, period: Period | None = None) -> float | None:
    """Roster people whose report is approved ÷ roster size where a roster exists, else 已报到 ÷ 注册党员 (None if 0)."""
    from timebank.units.models import RosterEntry
    size = roster_size(scope, period)
    if size == 0:
        registered = registered_members(scope, period)
        return reported_members(scope, period) / registered if registered else None
    stmt = (select(func.count(RosterEntry.id))
            .join(Member, Member.id == RosterEntry.member_id)
            .where(Member.status == MemberStatus.APPROVED.value))
    if period is not None and period.end is not None:
        stmt = stmt.where(RosterEntry.created_at < period.end, Member.reviewed_at < period.end)
    return int(db.session.execute(_roster_scope(stmt, scope)).scalar_one()) / size
