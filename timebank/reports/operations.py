"""Writes of the reports feature: staff evaluation notes and the stored feedback cards.
Every function takes the acting user (None = the system), flushes, never commits."""
from __future__ import annotations

import datetime as dt

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from timebank.audit import operations as audit
from timebank.core import clock
from timebank.core.errors import Forbidden, Invalid
from timebank.extensions import db
from timebank.inbox import operations as inbox
from timebank.members.models import Member
from timebank.orgs.models import OrgNode
from timebank.reports import queries
from timebank.reports.models import FeedbackCard, MemberEvaluation


def add_evaluation(actor, member: Member, month: dt.date, note: str) -> MemberEvaluation:
    """Staff of the member's community note how the member took part in a month."""
    if actor is not None and not member.can_manage(actor):
        raise Forbidden()
    month = month.replace(day=1)
    if month > clock.today().replace(day=1) or month.year < 2000:
        raise Invalid(_l("Choose this month or an earlier one."), field="month")
    note = (note or "").strip()
    if not 2 <= len(note) <= 1000:
        raise Invalid(_l("Write 2 to 1000 characters."), field="note")
    evaluation = MemberEvaluation(member_id=member.id, month=month, note=note,
                                  author_id=actor.id if actor else None, created_at=clock.now())
    db.session.add(evaluation)
    db.session.flush()
    audit.record(actor, "reports.evaluation", "member", member.id, month=month.isoformat())
    return evaluation


def delete_evaluation(actor, evaluation: MemberEvaluation) -> None:
    if actor is not None and not evaluation.can_delete(actor):
        raise Forbidden()
    audit.record(actor, "reports.evaluation_deleted", "member", evaluation.member_id,
                 month=evaluation.month.isoformat(), note=evaluation.note)
    db.session.delete(evaluation)
    db.session.flush()


def make_card(unit: OrgNode, start: dt.date, end: dt.date, origin: str = "monthly"
              ) -> tuple[FeedbackCard, bool]:
    """Store ``unit``'s card for [start, end) once: (card, True if made now)."""
    existing = queries.stored_card(unit, start, end)
    if existing is not None:
        return existing, False
    card = FeedbackCard(unit_id=unit.id, period_start=start, period_end=end,
                        created_at=clock.now(), origin=origin,
                        figures_json=queries.build_card(unit, start, end).to_json())
    try:
        with db.session.begin_nested():
            db.session.add(card)
    except IntegrityError:  # made at the same moment elsewhere: theirs stands
        return queries.stored_card(unit, start, end), False
    return card, True


def send_card(card: FeedbackCard) -> int:
    """Tell the unit's liaisons that the card is ready; once per card and liaison."""
    from timebank.members.queries import unit_liaisons

    liaisons = unit_liaisons([card.unit_id]).get(card.unit_id, [])
    with force_locale("zh_CN"):
        subject = _("Performance feedback card %(start)s to %(end)s",
                    start=card.period_start.isoformat(),
                    end=(card.period_end - dt.timedelta(days=1)).isoformat())
        body = _("How your unit's members took part in the community this period: reporting, "
                 "sessions claimed and attended, no-shows, verified hours and staff notes.")
    for user in liaisons:
        inbox.send(user, subject, body, link=f"/reports/cards/{card.id}",
                   dedup_key=f"feedback-card:{card.id}:{user.id}")
    return len(liaisons)
