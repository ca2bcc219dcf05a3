"""The member's home (首页): where they stand and what to do next, on one phone screen.

Every figure comes from the feature that defines it (the ledger's verified service and balance,
the recognition star thresholds, the inbox's unread count, the matcher's recommendations); this
module only gathers them and puts the matcher's reasons into plain words."""
from __future__ import annotations

import dataclasses
import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import func, select

from timebank.core import clock
from timebank.extensions import db
from timebank.inbox import queries as inbox
from timebank.ledger import queries as ledger
from timebank.matching import queries as matching
from timebank.members.models import SLOT_LABELS, WEEKDAY_LABELS, Member
from timebank.posts import queries as posts
from timebank.posts.models import Claim, RecordStatus, ServiceRecord
from timebank.recognition import rules as recognition

#: Recommendations shown on the home (the full list is the matcher's own page).
RECOMMENDED = 3


@dataclasses.dataclass(frozen=True)
class StarProgress:
    level: int
    #: The next level and its threshold in hours; None at the top level.
    next_level: int | None
    next_hours: int | None
    minutes_to_go: int
    #: 0..100: how far from the current level's threshold to the next one.
    percent: int


def star_progress(service_minutes: int, thresholds_hours: list[int]) -> StarProgress:
    """The star level of all-time verified service (``recognition.rules.star_level``) and the
    hours to the next threshold of the star thresholds setting."""
    level = recognition.star_level(service_minutes, thresholds_hours)
    if level >= len(thresholds_hours):
        return StarProgress(level, None, None, 0, 100)
    low = thresholds_hours[level - 1] * 60 if level else 0
    high = thresholds_hours[level] * 60
    percent = int(100 * (service_minutes - low) / (high - low)) if high > low else 0
    return StarProgress(level, level + 1, thresholds_hours[level], high - service_minutes,
                        max(0, min(100, percent)))


@dataclasses.dataclass(frozen=True)
class Recommended:
    post: object
    session: object
    #: Why, in plain words (「您登记了理发特长」「就在您报到的社区」「本周六上午您有空」).
    reasons: list[str]


@dataclasses.dataclass
class MemberHome:
    member: Member
    #: Verified service (deposits minus reversals) posted this calendar year / ever.
    year_minutes: int
    total_minutes: int
    #: Spendable time-bank balance (lowered by relays and redemptions; service hours are not).
    balance_minutes: int
    next_claim: Claim | None
    pending_records: int
    pending_minutes: int
    stars: StarProgress
    unread: int
    recommended: list[Recommended]


def _week_words(day: dt.date, today: dt.date) -> str:
    weekday = str(WEEKDAY_LABELS[day.weekday()])
    monday = today - dt.timedelta(days=today.weekday())
    week = (day - monday).days // 7
    if week == 0:
        return _("this %(weekday)s", weekday=weekday)
    if week == 1:
        return _("next %(weekday)s", weekday=weekday)
    return _("%(month)d/%(day)d (%(weekday)s)", month=day.month, day=day.day, weekday=weekday)


def reason_words(reasons: dict, session, today: dt.date | None = None) -> list[str]:
    """The matcher's reasons (``scoring.explain_session``) as sentences a member reads; no
    costs or scores."""
    out = []
    skills = reasons.get("skills") or []
    if skills:
        out.append(_("You registered the skill %(skill)s", skill="、".join(skills)))
    if reasons.get("willing") == "kind":
        out.append(_("You are willing to do %(kind)s", kind=session.post.kind.display_name))
    elif reasons.get("willing") == "category":
        out.append(_("You are willing to serve in %(category)s",
                     category=session.post.kind.category.display_name))
    tier = reasons.get("tier")
    if tier in ("grid", "community"):
        out.append(_("Right in the community you report to"))
    elif tier == "street":
        out.append(_("In your street"))
    slot = reasons.get("slot")
    if slot:
        local = clock.to_local(session.starts_at).date()
        out.append(_("You are free %(when)s %(slot)s",
                     when=_week_words(local, today or clock.today()),
                     slot=SLOT_LABELS.get(slot[1], "")))
    return out


def _pending(member: Member) -> tuple[int, int]:
    n, minutes = db.session.execute(
        select(func.count(), func.coalesce(func.sum(ServiceRecord.minutes), 0))
        .where(ServiceRecord.member_id == member.id,
               ServiceRecord.status == RecordStatus.PENDING.value)).one()
    return int(n), int(minutes)


def member_home(member: Member, user) -> MemberHome:
    from timebank import measures

    figures = ledger.member_figures(member)
    # The same measure as the statement, the activity card and the ranking (issue 13).
    year = measures.verified_service_minutes(
        member=member, period=measures.Period.year(clock.today().year))
    total = measures.verified_service_minutes(member=member)
    upcoming = posts.my_claims(member, upcoming=True, limit=1)
    n_pending, pending_minutes = _pending(member)
    recs = []
    if member.is_approved:
        today = clock.today()
        recs = [Recommended(r.post, r.session, reason_words(r.reasons, r.session, today))
                for r in matching.recommended_posts(member, limit=RECOMMENDED)]
    return MemberHome(
        member=member, year_minutes=year, total_minutes=total,
        balance_minutes=figures.balance_minutes, next_claim=upcoming[0] if upcoming else None,
        pending_records=n_pending, pending_minutes=pending_minutes,
        stars=star_progress(figures.service_minutes, recognition.star_thresholds()),
        unread=inbox.unread_count(user), recommended=recs)


def render(member: Member, user):
    from flask import render_template

    home = member_home(member, user)
    return render_template("home/member.html", home=home, member=member, now=clock.now())
