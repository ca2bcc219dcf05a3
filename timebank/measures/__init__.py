"""One source of truth for every figure a person reads (issue 13).

Each figure is ONE function here, with a one-line definition in its docstring; pages, exports
and the API call these functions instead of counting on their own. ``REGISTRY`` maps a measure's
name to its function, label and definition and feeds the glossary page (``/measures/``).

Scope: an org node (district/street/community/unit) or None for everything; period: a
``Period`` (half-open [start, end) in UTC) or None for all time.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from timebank.extensions import db
from timebank.ledger.models import Transaction, TxKind
from timebank.members.models import Member, MemberStatus

#: the deposits that are verified service: they name a service record as their source.
SERVICE_SOURCE = "service_record"
#: the deposits of the audited historical-hours import (历史结转时长).
HISTORICAL_SOURCE = "historical"


@dataclasses.dataclass(frozen=True)
class Period:
    start: dt.datetime | None = None
    end: dt.datetime | None = None

    @classmethod
    def year(cls, year: int) -> "Period":
        return cls(dt.datetime(year, 1, 1, tzinfo=dt.UTC), dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC))

    @classmethod
    def month(cls, year: int, month: int) -> "Period":
        end = dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=dt.UTC)
        return cls(dt.datetime(year, month, 1, tzinfo=dt.UTC), end)


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
        REGISTRY[fn.__name__] = Measure(fn.__name__, label, definition, fn)
        return fn
    return wrap


def _member_scope(stmt, scope):
    """Restrict a statement that joins Member to the members under an org node."""
    if scope is None:
        return stmt
    from timebank.orgs.models import OrgNode  # noqa: F401  (model registry)
    ids = _descendant_ids(scope)
    return stmt.where((Member.community_id.in_(ids)) | (Member.unit_id.in_(ids))
                      | (Member.grid_id.in_(ids)))


def _descendant_ids(node) -> list[int]:
    from timebank.orgs.models import OrgNode
    ids, frontier = [node.id], [node.id]
    while frontier:
        frontier = list(db.session.execute(
            select(OrgNode.id).where(OrgNode.parent_id.in_(frontier))).scalars())
        ids += frontier
    return ids


def _deposit_minutes(source_type: str, scope, period: Period | None, member=None) -> int:
    from timebank.ledger.models import Account
    reversal = aliased(Transaction)
    stmt = (select(func.coalesce(func.sum(Transaction.service_minutes), 0))
            .join(Account, Account.id == Transaction.service_account_id)
            .join(Member, Member.id == Account.member_id)
            .where(Transaction.kind == TxKind.DEPOSIT.value,
                   Transaction.source_type == source_type,
                   ~select(reversal.id).where(reversal.reverses_id == Transaction.id).exists()))
    if member is not None:
        stmt = stmt.where(Member.id == member.id)
    if period is not None and period.start is not None:
        stmt = stmt.where(Transaction.created_at >= period.start)
    if period is not None and period.end is not None:
        stmt = stmt.where(Transaction.created_at < period.end)
    return int(db.session.execute(_member_scope(stmt, scope)).scalar_one())


@measure("志愿服务时长")
def verified_service_minutes(scope=None, period: Period | None = None, member=None) -> int:
    """Minutes of verified, un-reversed service records only (never deposits without a service record)."""
    return _deposit_minutes(SERVICE_SOURCE, scope, period, member)


@measure("历史结转时长")
def historical_minutes(scope=None, period: Period | None = None, member=None) -> int:
    """Minutes brought over by the audited historical-hours import, un-reversed; not service."""
    return _deposit_minutes(HISTORICAL_SOURCE, scope, period, member)


@measure("注册志愿者")
def registered_members(scope=None, period: Period | None = None) -> int:
    """Members registered (any status except rejected) before the period's end."""
    stmt = select(func.count(Member.id)).where(Member.status != MemberStatus.REJECTED.value)
    if period is not None and period.end is not None:
        stmt = stmt.where(Member.created_at < period.end)
    return int(db.session.execute(_member_scope(stmt, scope)).scalar_one())


@measure("已报到")
def reported_members(scope=None, period: Period | None = None) -> int:
    """Members whose report (报到) is approved (status approved), approved before the period's end."""
    stmt = select(func.count(Member.id)).where(Member.status == MemberStatus.APPROVED.value)
    if period is not None and period.end is not None:
        stmt = stmt.where(Member.reviewed_at < period.end)
    return int(db.session.execute(_member_scope(stmt, scope)).scalar_one())


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


@measure("报到率")
def roster_report_rate(scope=None, period: Period | None = None) -> float | None:
    """Roster people whose report is approved ÷ roster size where a roster exists, else 已报到 ÷ 注册志愿者 (None if 0)."""
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
