"""The matcher's settings: cost weights and limits, stored in the database (district admins edit
them on the matcher settings page). Defaults and their meaning are in :mod:`scoring`'s
docstring; every key is declared here once."""
from __future__ import annotations

import dataclasses

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from timebank.core import settings
from timebank.core.settings import Setting
from timebank.extensions import db
from timebank.matching.scoring import WEIGHT_FIELDS, Weights

PREFIX = "matching.weight_"
MONTHLY_LIMIT = "matching.default_monthly_limit"
HORIZON_DAYS = "matching.horizon_days"
MAX_DEMANDS_PER_RESOURCE = "matching.max_demands_per_resource"

_DEFAULTS = Weights()

#: Short names of the settings, for the settings page.
LABELS = {
    PREFIX + "skill_gap": _l("Missing skills"),
    PREFIX + "category_only": _l("Willing for the category only"),
    PREFIX + "not_willing": _l("Skills fit, not listed as willing"),
    PREFIX + "distance": _l("Per distance step"),
    PREFIX + "load_30": _l("Per hour served in the last 30 days"),
    PREFIX + "load_90": _l("Per hour served in the last 90 days"),
    PREFIX + "recent_claim": _l("Per recent claim"),
    PREFIX + "fairness_cap": _l("Cap of the recent load"),
    PREFIX + "urgency": _l("Per urgency step"),
    MONTHLY_LIMIT: _l("Default monthly limit (sessions)"),
    HORIZON_DAYS: _l("Matching horizon (days)"),
    MAX_DEMANDS_PER_RESOURCE: _l("Demands per resource per run"),
}

#: What each weight means, for the settings page (and ``settings.declare``'s description).
WEIGHT_HELP = {
    "skill_gap": _l("Cost when a member has none of the post's required skills (a share of it "
                    "for each skill missing)."),
    "category_only": _l("Added when the member is willing to serve the post's category but did "
                        "not tick this kind."),
    "not_willing": _l("Added when only the skills fit: the member did not say they are willing "
                      "to do this kind of service."),
    "distance": _l("Added per distance step: same grid 0, same community 1, same street 2, "
                   "elsewhere in the district 3."),
    "load_30": _l("Added per hour of verified service in the last 30 days (spreads the work)."),
    "load_90": _l("Added per hour of verified service in the last 90 days."),
    "recent_claim": _l("Added per claim the member made in the last 30 days (for a resource: "
                       "per live project its owner already serves)."),
    "fairness_cap": _l("Most the recent load may add."),
    "urgency": _l("Added per urgency step below \"urgent\": urgent posts and demands are filled "
                  "first when people are scarce."),
}
LIMIT_HELP = {
    MONTHLY_LIMIT: _l("Sessions a member may be proposed for in the matching horizon when their "
                      "form gives no monthly limit."),
    HORIZON_DAYS: _l("How many days ahead the matcher looks for sessions; the monthly limit "
                     "counts the claims in this period."),
    MAX_DEMANDS_PER_RESOURCE: _l("Most demands one resource is proposed for in one run."),
}

for _name in WEIGHT_FIELDS:
    settings.declare(PREFIX + _name, getattr(_DEFAULTS, _name),
                     f"Matcher cost weight {_name} (see timebank.matching.scoring).")
settings.declare(MONTHLY_LIMIT, 4, "Default sessions per member per matching horizon.")
settings.declare(HORIZON_DAYS, 30, "Days ahead the matcher considers sessions.")
settings.declare(MAX_DEMANDS_PER_RESOURCE, 3, "Most demands one resource is proposed for per run.")

KEYS = tuple(PREFIX + n for n in WEIGHT_FIELDS) + (MONTHLY_LIMIT, HORIZON_DAYS,
                                                   MAX_DEMANDS_PER_RESOURCE)
#: Bounds a stored value must respect (the solver needs small non-negative integers).
BOUNDS = {**{PREFIX + n: (0, 10_000) for n in WEIGHT_FIELDS},
          MONTHLY_LIMIT: (0, 31), HORIZON_DAYS: (1, 120), MAX_DEMANDS_PER_RESOURCE: (1, 50)}


@dataclasses.dataclass(frozen=True)
class Rules:
    weights: Weights
    default_monthly_limit: int
    horizon_days: int
    max_demands_per_resource: int


def current() -> Rules:
    """Every matcher setting in one query."""
    stored = dict(db.session.execute(
        select(Setting.key, Setting.value).where(Setting.key.in_(KEYS))).all())
    value = {k: int(stored.get(k, settings.REGISTRY[k].default)) for k in KEYS}
    weights = Weights(**{n: value[PREFIX + n] for n in WEIGHT_FIELDS})
    return Rules(weights=weights, default_monthly_limit=value[MONTHLY_LIMIT],
                 horizon_days=value[HORIZON_DAYS],
                 max_demands_per_resource=value[MAX_DEMANDS_PER_RESOURCE])


def help_text(key: str):
    if key.startswith(PREFIX):
        return WEIGHT_HELP[key[len(PREFIX):]]
    return LIMIT_HELP[key]
