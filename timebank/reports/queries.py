"""Reads for feedback cards and unit participation."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json

from sqlalchemy import case, func, select

from timebank.accounts.models import Role, User
from timebank.core import clock
from timebank.extensions import db
from timebank.members.models import Member, MemberStatus
from timebank.orgs.models import OrgKind, OrgNode
from timebank.posts.models import Attendance, Claim, ClaimStatus, PostSession
from timebank.reports.models import FeedbackCard, MemberEvaluation


@dataclasses.dataclass
class CardRow:
    member_id: int
    name: str
    community: str
    #: Reporting state (members.queries.reporting_state): reported, form_missing, pending,
    #: not_reported.
    state: str
    claimed: int
    attended: int
    no_shows: int
    minutes: int
    notes: list[str]
    #: verified service records served in the period (measures.service_sessions).
    sessions: int = 0
    #: historical hours imported in the period (measures.historical_minutes), not service.
    historical: int = 0


class ParticipationRates:
    """Reported / registered and active / reported, for anything with those three counts
    (a unit's feedback card, a dashboard's row)."""

    registered: int
    reported: int
    active: int

    @property
    def reported_rate(self) -> float | None:
        from timebank import measures

        return measures.report_rate_of(self.reported, self.registered)

    @property
    def active_rate(self) -> float | None:
        return self.active / self.reported if self.reported else None


@dataclasses.dataclass
class Card(ParticipationRates):
    unit_id: int
    unit_name: str
    start: dt.date
    #: The day after the period's last day.
    end: dt.date
    rows: list[CardRow]

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    @property
    def registered(self) -> int:
        return len(self.rows)

    @property
    def reported(self) -> int:
        return sum(1 for r in self.rows if r.state in ("reported", "form_missing"))

    @property
    def active(self) -> int:
        """measures.active_members: members with a verified service served in the period (cards
        stored before sessions were kept: members with verified minutes)."""
        return sum(1 for r in self.rows if r.sessions > 0 or r.minutes > 0)

    @property
    def totals(self) -> dict[str, int]:
        return {k: sum(getattr(r, k) for r in self.rows)
                for k in ("claimed", "attended", "no_shows", "minutes", "sessions",
                          "historical")}

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        data["start"], data["end"] = self.start.isoformat(), self.end.isoformat()
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Card:
        data = json.loads(text)
        return cls(unit_id=data["unit_id"], unit_name=data["unit_name"],
                   start=dt.date.fromisoformat(data["start"]),
                   end=dt.date.fromisoformat(data["end"]),
                   rows=[CardRow(**r) for r in data["rows"]])


def month_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    start = day.replace(day=1)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    return start, end


def previous_month(day: dt.date) -> tuple[dt.date, dt.date]:
    return month_bounds(day.replace(day=1) - dt.timedelta(days=1))


def _utc(day: dt.date) -> dt.datetime:
    return clock.local_day_bounds(day)[0]


def build_card(unit: OrgNode, start: dt.date, end: dt.date) -> Card:
    """The figures of ``unit``'s members for the local dates [start, end): reporting state,
    sessions claimed, attended and missed (sessions starting in the period), verified service
    and historical hours (the measures, for the period) and staff notes for the months it covers."""
    from timebank import measures
    from timebank.members.queries import reporting_state

    community = OrgNode.__table__.alias("community")
    members = db.session.execute(
        select(Member, User.name, community.c.name)
        .join(User, User.id == Member.user_id)
        .join(community, community.c.id == Member.community_id)
        .where(Member.unit_id == unit.id, Member.status != MemberStatus.REJECTED.value)
        .order_by(community.c.name, User.name, Member.id)).all()
    ids = [m.id for m, _, _ in members]
    s, e = _utc(start), _utc(end)
    claims = {}
    if ids:
        claims = {r.member_id: r for r in db.session.execute(
            select(Claim.member_id,
                   func.count().label("claimed"),
                   func.sum(case((Claim.attendance == Attendance.ATTENDED.value, 1), else_=0))
                   .label("attended"),
                   func.sum(case((Claim.attendance == Attendance.NO_SHOW.value, 1), else_=0))
                   .label("no_shows"))
            .join(PostSession, PostSession.id == Claim.session_id)
            .where(Claim.member_id.in_(ids), Claim.status != ClaimStatus.WITHDRAWN.value,
                   PostSession.starts_at >= s, PostSession.starts_at < e)
            .group_by(Claim.member_id))}
    period = measures.Period(s, e)
    minutes = measures.breakdown(measures.verified_service_minutes, unit, period, ("member",))
    sessions = measures.breakdown(measures.service_sessions, unit, period, ("member",))
    historical = measures.breakdown(measures.historical_minutes, unit, period, ("member",))
    notes: dict[int, list[str]] = {}
    if ids:
        for member_id, month, note in db.session.execute(
                select(MemberEvaluation.member_id, MemberEvaluation.month, MemberEvaluation.note)
                .where(MemberEvaluation.member_id.in_(ids),
                       MemberEvaluation.month >= start.replace(day=1),
                       MemberEvaluation.month < end)
                .order_by(MemberEvaluation.month, MemberEvaluation.id)):
            notes.setdefault(member_id, []).append(f"{month:%Y-%m}: {note}")
    rows = []
    for member, name, community_name in members:
        c = claims.get(member.id)
        rows.append(CardRow(
            member_id=member.id, name=name, community=community_name,
            state=reporting_state(member), claimed=int(c.claimed) if c else 0,
            attended=int(c.attended or 0) if c else 0, no_shows=int(c.no_shows or 0) if c else 0,
            minutes=int(minutes.get(member.id, 0)), notes=notes.get(member.id, []),
            sessions=sessions.get(member.id, 0), historical=historical.get(member.id, 0)))
    return Card(unit_id=unit.id, unit_name=unit.name, start=start, end=end, rows=rows)


def stored_card(unit: OrgNode, start: dt.date, end: dt.date) -> FeedbackCard | None:
    return db.session.execute(select(FeedbackCard).where(
        FeedbackCard.unit_id == unit.id, FeedbackCard.period_start == start,
        FeedbackCard.period_end == end)).scalar_one_or_none()


def cards_of(unit: OrgNode) -> list[FeedbackCard]:
    return list(db.session.execute(
        select(FeedbackCard).where(FeedbackCard.unit_id == unit.id)
        .order_by(FeedbackCard.period_start.desc())).scalars())


def can_see_unit(user, unit: OrgNode) -> bool:
    """District and street admins above the unit, and the unit's liaisons."""
    return (unit.kind == OrgKind.UNIT and user.is_authenticated
            and (user.manages(unit) or user.has_role(Role.UNIT_LIAISON, unit)))


def visible_units(user) -> list[OrgNode]:
    units: dict[int, OrgNode] = {u.id: u for u in user.role_nodes(Role.UNIT_LIAISON)}
    for root in user.scope_roots():
        if root.kind in (OrgKind.DISTRICT, OrgKind.STREET):
            for u in db.session.execute(select(OrgNode).where(
                    OrgNode.path.like(f"{root.path}%"), OrgNode.kind == OrgKind.UNIT)).scalars():
                units[u.id] = u
    return sorted(units.values(), key=lambda u: u.name)


def unit_participation(unit_ids: list[int], start: dt.date, end: dt.date
                       ) -> dict[int, dict[str, int]]:
    """Per unit, from the measures: members registered and reported (now, as on the unit's
    feedback card) and active in [start, end) (at least one verified service served), one grouped
    query each."""
    from timebank import measures

    if not unit_ids:
        return {}
    period = measures.Period(_utc(start), _utc(end))
    out = {u: {"registered": 0, "reported": 0, "active": 0} for u in unit_ids}
    for key, fn, when in (("registered", measures.registered_members, None),
                          ("reported", measures.reported_members, None),
                          ("active", measures.active_members, period)):
        for unit_id, n in measures.by_unit(fn, None, when).items():
            if unit_id in out:
                out[unit_id][key] = n
    return out


def evaluations_of(member: Member) -> list[MemberEvaluation]:
    return list(db.session.execute(
        select(MemberEvaluation).where(MemberEvaluation.member_id == member.id)
        .order_by(MemberEvaluation.month.desc(), MemberEvaluation.id.desc())).scalars())

