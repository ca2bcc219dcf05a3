"""The unit liaison's home: the unit's figures this month against last month, its latest
feedback card on the page, and the members who have not (fully) reported, with a reminder.

Figures are the named measures (``timebank.measures``); the card is the one the PDF and the
spreadsheet are made from (``reports.queries``); the reporting states and their counts are the
liaison's member page's own (``members.queries.unit_state_counts``)."""
from __future__ import annotations

import dataclasses
import datetime as dt

from flask import url_for
from sqlalchemy import select

from timebank import measures
from timebank.core import clock
from timebank.extensions import db
from timebank.inbox.models import Message
from timebank.members import operations as member_ops
from timebank.members import queries as members
from timebank.members.models import Member
from timebank.orgs.models import OrgNode
from timebank.reports import queries as reports
from timebank.reports.models import FeedbackCard

#: Members waiting listed on the home; the state counts link to the full lists.
WAITING_SHOWN = 10
#: The states of members who have not fully reported, in the order the home lists them.
WAITING_STATES = ("not_reported", "pending", "form_missing")


@dataclasses.dataclass(frozen=True)
class Figure:
    #: The measure's name in ``measures.REGISTRY`` (its label and definition).
    name: str
    label: str
    this_month: int
    last_month: int
    #: Minutes, shown as hours with one decimal.
    is_minutes: bool = False

    @property
    def change(self) -> int:
        return self.this_month - self.last_month


@dataclasses.dataclass(frozen=True)
class CardView:
    card: reports.Card
    #: The card as it was sent (None: the monthly job has not made one yet; then last month's
    #: card is computed now).
    stored: FeedbackCard | None
    html_url: str
    pdf_url: str
    xlsx_url: str


@dataclasses.dataclass
class UnitHome:
    unit: OrgNode
    figures: list[Figure]
    card: CardView
    #: Reporting state -> members in it (the liaison page's counts).
    counts: dict[str, int]
    waiting: list[Member]
    #: Ids of ``waiting`` members who were already reminded today.
    reminded: set[int]

    @property
    def waiting_total(self) -> int:
        return sum(self.counts[s] for s in WAITING_STATES)


def month_periods(now: dt.datetime | None = None) -> tuple[measures.Period, measures.Period]:
    """This calendar month and the previous one (Asia/Shanghai), as measure periods."""
    start, end = clock.local_month_bounds(now or clock.now())
    last_start, _ = clock.local_month_bounds(start - dt.timedelta(seconds=1))
    return measures.Period(start, end), measures.Period(last_start, start)


#: The measures a home compares month by month; each is shown under its own label (one label,
#: one measure) with a link to its definition on the glossary page.
FIGURES = ("registered_members", "reported_members", "active_members",
           "verified_service_minutes")


def month_figures(scope: OrgNode) -> list[Figure]:
    this, last = month_periods()
    out = []
    for name in FIGURES:
        m = measures.REGISTRY.get(name)
        if m is None:  # a measure not (yet) defined is left out rather than re-derived here
            continue
        out.append(Figure(name, m.label, m.function(scope, this), m.function(scope, last),
                          is_minutes=name.endswith("_minutes")))
    return out


def latest_card(unit: OrgNode) -> CardView:
    """The newest card the monthly job stored, else last month's card computed now."""
    cards = reports.cards_of(unit)
    if cards:
        stored = cards[0]
        return CardView(reports.Card.from_json(stored.figures_json), stored,
                        url_for("reports.stored_card", card_id=stored.id, fmt="html"),
                        url_for("reports.stored_card", card_id=stored.id, fmt="pdf"),
                        url_for("reports.stored_card", card_id=stored.id, fmt="xlsx"))
    start, end = reports.previous_month(clock.today())
    card = reports.build_card(unit, start, end)
    args = {"unit_id": unit.id, "start": start.isoformat(), "end": card.last_day.isoformat()}
    return CardView(card, None, url_for("reports.unit_card", fmt="html", **args),
                    url_for("reports.unit_card", fmt="pdf", **args),
                    url_for("reports.unit_card", fmt="xlsx", **args))




def reminded_today(member_ids: list[int]) -> set[int]:
    if not member_ids:
        return set()
    day = clock.today()
    keys = {member_ops.reminder_key(i, day): i for i in member_ids}
    return {keys[k] for k in db.session.execute(
        select(Message.dedup_key).where(Message.dedup_key.in_(list(keys)))).scalars()}


def waiting_members(unit: OrgNode, limit: int = WAITING_SHOWN) -> list[Member]:
    """Members of the unit who have not fully reported, by state (not reported, waiting for
    review, form not filled in) and then as the liaison page orders them."""
    out: list[Member] = []
    for state in WAITING_STATES:
        if len(out) >= limit:
            break
        out += db.session.execute(members.unit_members(unit, state)
                                  .options(*members.page_options())
                                  .limit(limit - len(out))).scalars()
    return out


def unit_home(unit: OrgNode) -> UnitHome:
    waiting = waiting_members(unit)
    return UnitHome(unit=unit, figures=month_figures(unit), card=latest_card(unit),
                    counts=members.unit_state_counts(unit), waiting=waiting,
                    reminded=reminded_today([m.id for m in waiting]))


def liaison_homes(user) -> list[UnitHome]:
    return [unit_home(u) for u in members.liaison_units(user)]
