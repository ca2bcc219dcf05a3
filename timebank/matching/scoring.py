"""Pure scoring of matcher candidates: who fits where, at what cost, and why.

No Flask, no database: plain dataclasses in, integers and plain dicts out (STYLE: "keep the pure
parts pure"). :mod:`timebank.matching.candidates` builds the facts from the database; the solver
then maximises the filled places and, among those, minimises the total cost.

Who is a candidate (the database-bound exclusions, such as an existing claim or an earlier
rejection, are applied by ``candidates``):

* **fit**: the member has at least one of the post's required skills, or is willing to do the
  post's kind, or its whole category (for a demand: the resource shares a tag with it, or has its
  category, or the demand asks for no particular skill);
* **geography**: posts are served from the same community, then the same street; posts open to
  all, district-wide. A resource serves the area it names (a community, a street or the
  district); a member's own resource reaches the member's grid first;
* **availability**: the session's weekday and part of day are ticked on the member's form (for a
  demand: the resource's dates overlap the demand's window).

The cost of a candidate is the sum of four parts; every weight is a setting (see ``WEIGHTS``)::

    fit       = skill_gap * (required skills the member lacks) / (required skills)
              + category_only   when willing for the category but not this kind
              + not_willing     when only the skills fit
    distance  = distance * tier          (0 same grid, 1 same community, 2 same street,
                                          3 elsewhere in the district)
    fairness  = min(fairness_cap, load_30 * hours served in the last 30 days
                                + load_90 * hours served in the last 90 days
                                + recent_claim * claims made in the last 30 days)
    urgency   = urgency * (3 - urgency level)   (level 3 = urgent: nothing added)

So among equally fitting members the one who served less recently costs less and is proposed,
which spreads the work; and when places are scarce, urgent posts are filled first.

Defaults (settings ``matching.weight_<name>``, editable by district admins on the matcher
settings page; see :class:`Weights`)::

    skill_gap       30   all required skills missing (a share for each one missing)
    category_only    8   willing for the category, not this kind
    not_willing     20   only the skills fit
    distance        15   per tier: same community 15, same street 30, district 45
    load_30          6   per hour served in the last 30 days
    load_90          2   per hour served in the last 90 days
    recent_claim     5   per claim made in the last 30 days (resource: per live project)
    fairness_cap   300   most the recent load adds
    urgency         10   normal +20, soon +10, urgent +0

A session is urgent when it starts within 3 days, soon within a week. Also settings:
``matching.default_monthly_limit`` (4 sessions when the member's form gives none),
``matching.horizon_days`` (30: sessions considered, and the period the monthly limit counts
claims in) and ``matching.max_demands_per_resource`` (3 per run).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

#: Distance tiers (their index is the tier number used in the cost).
TIERS = ("grid", "community", "street", "district")
GRID, COMMUNITY, STREET, DISTRICT = range(4)
SLOTS = ("morning", "afternoon", "evening")


@dataclasses.dataclass(frozen=True, slots=True)
class Weights:
    """The cost weights; defaults are documented in the module docstring and on the page."""

    skill_gap: int = 30
    category_only: int = 8
    not_willing: int = 20
    distance: int = 15
    load_30: int = 6
    load_90: int = 2
    recent_claim: int = 5
    fairness_cap: int = 300
    urgency: int = 10


#: Field names of :class:`Weights`; each is the setting ``matching.weight_<name>``.
WEIGHT_FIELDS = tuple(f.name for f in dataclasses.fields(Weights))


def slot_bit(weekday: int, slot: str) -> int:
    """The availability bit of a weekday (0 = Monday) and part of day, as members store it."""
    return 1 << (weekday * len(SLOTS) + SLOTS.index(slot))


# --- members and post sessions -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class MemberFacts:
    id: int
    community_id: int
    street_id: int | None
    grid_id: int | None
    skill_ids: frozenset[int]
    willing_kind_ids: frozenset[int]
    willing_category_ids: frozenset[int]
    #: 21-bit availability mask (bit weekday * 3 + slot).
    availability: int
    #: Places the member may still take in the matching horizon (monthly limit minus claims).
    capacity: int
    minutes_30: int = 0
    minutes_90: int = 0
    claims_30: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class SessionFacts:
    id: int
    post_id: int
    community_id: int
    street_id: int | None
    kind_id: int
    category_id: int
    skill_ids: frozenset[int]
    weekday: int
    slot: str
    open_to_all: bool
    places: int
    #: 1 normal .. 3 urgent.
    urgency: int = 1


def session_urgency(starts_at: dt.datetime, now: dt.datetime) -> int:
    """Sessions starting within 3 days are urgent, within a week soon, else normal."""
    days = (starts_at - now).total_seconds() / 86400
    return 3 if days <= 3 else 2 if days <= 7 else 1


def fairness_cost(minutes_30: int, minutes_90: int, claims_30: int, w: Weights) -> int:
    # Whole hours, so a few minutes of difference does not reorder otherwise equal members.
    raw = (w.load_30 * (minutes_30 // 60) + w.load_90 * (minutes_90 // 60)
           + w.recent_claim * claims_30)
    return min(w.fairness_cap, raw)


def member_fairness(m: MemberFacts, w: Weights) -> int:
    return fairness_cost(m.minutes_30, m.minutes_90, m.claims_30, w)


def _fit_cost(required: frozenset[int], have: frozenset[int], willing: str | None,
              w: Weights) -> int | None:
    """Cost of the fit, or None when nothing fits. ``willing`` is "kind", "category" or None."""
    if required:
        shared = len(required & have)
        if not shared and willing is None:
            return None
        cost = w.skill_gap * (len(required) - shared) // len(required)
    elif willing is None:
        return None
    else:
        cost = 0
    if willing == "category":
        cost += w.category_only
    elif willing is None:
        cost += w.not_willing
    return cost


def willingness(m: MemberFacts, s: SessionFacts) -> str | None:
    if s.kind_id in m.willing_kind_ids:
        return "kind"
    if s.category_id in m.willing_category_ids:
        return "category"
    return None


def session_tier(m: MemberFacts, s: SessionFacts) -> int | None:
    """Distance tier of a member to a post, or None when the post is out of the member's reach
    (members claim posts of their own street, and posts open to all)."""
    if m.community_id == s.community_id:
        return COMMUNITY
    if m.street_id is not None and m.street_id == s.street_id:
        return STREET
    return DISTRICT if s.open_to_all else None


def session_cost(m: MemberFacts, s: SessionFacts, w: Weights, fairness: int | None = None
                 ) -> int | None:
    """The cost of proposing ``m`` for ``s``, or None when ``m`` is not a candidate."""
    priced = price_session(s, (m,), w, None if fairness is None else {m.id: fairness})
    return priced[0][2] if priced else None


def price_session(s: SessionFacts, members: Iterable[MemberFacts], w: Weights,
                  fairness: dict[int, int] | None = None) -> list[tuple[int, int, int]]:
    """``(member id, session id, cost)`` for each of ``members`` that is a candidate for ``s``.

    The one definition of the cost (``session_cost`` is this for one member); written as a
    loop over many members with the session's figures hoisted, because a district run prices
    hundreds of thousands of pairs. ``fairness`` maps member id -> :func:`member_fairness`.
    """
    bit = slot_bit(s.weekday, s.slot)
    sid, community, street, open_to_all = s.id, s.community_id, s.street_id, s.open_to_all
    kind, category = s.kind_id, s.category_id
    required, n_required = s.skill_ids, len(s.skill_ids)
    skill_gap, category_only, not_willing = w.skill_gap, w.category_only, w.not_willing
    constant = w.urgency * (3 - s.urgency)
    by_tier = (0, w.distance, 2 * w.distance, 3 * w.distance)
    out = []
    append = out.append
    for m in members:
        if not m.availability & bit:
            continue
        if m.community_id == community:
            tier = COMMUNITY
        elif street is not None and m.street_id == street:
            tier = STREET
        elif open_to_all:
            tier = DISTRICT
        else:
            continue
        if kind in m.willing_kind_ids:
            willing = 0
        elif category in m.willing_category_ids:
            willing = category_only
        else:
            willing = -1
        if n_required:
            shared = len(required & m.skill_ids)
            if not shared and willing < 0:
                continue
            fit = skill_gap * (n_required - shared) // n_required
        elif willing < 0:
            continue
        else:
            fit = 0
        fit += not_willing if willing < 0 else willing
        load = fairness[m.id] if fairness is not None else member_fairness(m, w)
        append((m.id, sid, fit + by_tier[tier] + load + constant))
    return out


def explain_session(m: MemberFacts, s: SessionFacts, w: Weights,
                    skill_names: dict[int, str] | None = None) -> dict:
    """Why ``m`` was proposed for ``s``: the reasons stored with the proposal (plain JSON)."""
    tier = session_tier(m, s)
    willing = willingness(m, s)
    shared = sorted(s.skill_ids & m.skill_ids)
    fit = _fit_cost(s.skill_ids, m.skill_ids, willing, w)
    fairness = member_fairness(m, w)
    names = skill_names or {}
    return {
        "skills": [names.get(i, str(i)) for i in shared],
        "skill_ids": shared,
        "required": len(s.skill_ids),
        "willing": willing,
        "tier": TIERS[tier] if tier is not None else None,
        "slot": [s.weekday, s.slot],
        "load": {"minutes_30": m.minutes_30, "minutes_90": m.minutes_90,
                 "claims_30": m.claims_30},
        "urgency": s.urgency,
        "parts": {"fit": fit, "distance": w.distance * (tier or 0), "fairness": fairness,
                  "urgency": w.urgency * (3 - s.urgency)},
    }


# --- resources and demands ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class ResourceFacts:
    id: int
    kind: str
    #: "community", "street" or "district", and that node's id.
    area_kind: str
    area_id: int
    skill_ids: frozenset[int]
    category_id: int | None
    available_from: dt.date | None
    available_until: dt.date | None
    capacity: int
    #: The grid of the member offering it (member resources only).
    grid_id: int | None = None
    #: Live projects the owner (unit or member) is already assigned to: its recent load.
    assignments: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class DemandFacts:
    id: int
    community_id: int
    street_id: int | None
    district_id: int | None
    grid_id: int | None
    need_kind: str
    category_id: int
    skill_ids: frozenset[int]
    window_start: dt.date | None
    window_end: dt.date | None
    places: int
    urgency: int = 1


def demand_tier(r: ResourceFacts, d: DemandFacts) -> int | None:
    if r.grid_id is not None and r.grid_id == d.grid_id:
        return GRID
    if r.area_kind == "community":
        return COMMUNITY if r.area_id == d.community_id else None
    if r.area_kind == "street":
        return STREET if r.area_id == d.street_id else None
    if r.area_kind == "district":
        return DISTRICT if r.area_id == d.district_id else None
    return None


def windows_overlap(r: ResourceFacts, d: DemandFacts) -> bool:
    if r.available_until is not None and d.window_start is not None \
            and r.available_until < d.window_start:
        return False
    if r.available_from is not None and d.window_end is not None \
            and r.available_from > d.window_end:
        return False
    return True


def _demand_fit(r: ResourceFacts, d: DemandFacts, w: Weights) -> int | None:
    willing = "kind" if r.category_id is not None and r.category_id == d.category_id else None
    if not d.skill_ids:
        # No particular skill asked: the right kind of resource fits, best in the category.
        return 0 if willing else w.category_only
    return _fit_cost(d.skill_ids, r.skill_ids, willing, w)


def demand_cost(r: ResourceFacts, d: DemandFacts, w: Weights) -> int | None:
    if r.kind != d.need_kind or not windows_overlap(r, d):
        return None
    tier = demand_tier(r, d)
    if tier is None:
        return None
    fit = _demand_fit(r, d, w)
    if fit is None:
        return None
    fairness = min(w.fairness_cap, w.recent_claim * r.assignments)
    return fit + w.distance * tier + fairness + w.urgency * (3 - d.urgency)


def explain_demand(r: ResourceFacts, d: DemandFacts, w: Weights,
                   skill_names: dict[int, str] | None = None) -> dict:
    tier = demand_tier(r, d)
    shared = sorted(d.skill_ids & r.skill_ids)
    names = skill_names or {}
    return {
        "skills": [names.get(i, str(i)) for i in shared],
        "skill_ids": shared,
        "required": len(d.skill_ids),
        "willing": "category" if r.category_id == d.category_id else None,
        "tier": TIERS[tier] if tier is not None else None,
        "window": [d.window_start.isoformat() if d.window_start else None,
                   d.window_end.isoformat() if d.window_end else None],
        "load": {"assignments": r.assignments},
        "urgency": d.urgency,
        "parts": {"fit": _demand_fit(r, d, w), "distance": w.distance * (tier or 0),
                  "fairness": min(w.fairness_cap, w.recent_claim * r.assignments),
                  "urgency": w.urgency * (3 - d.urgency)},
    }
