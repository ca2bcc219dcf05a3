"""Regional rules of the time bank, stored as settings (district admins edit them)."""
from __future__ import annotations

import dataclasses

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from timebank.core import settings
from timebank.core.settings import Setting
from timebank.extensions import db

STORAGE_CAP = "ledger.storage_cap_minutes"
RELAY_RECIPIENTS = "ledger.relay_recipients"
RELAY_YEARLY_LIMIT = "ledger.relay_yearly_limit_minutes"
GROUP_DONATE_ONLY = "ledger.group_service_donate_only"

#: Who may receive relayed hours.
RECIPIENTS_ANY = "members_and_pools"
RECIPIENTS_POOLS = "pools_only"
RECIPIENTS_SAME_COMMUNITY = "same_community"
RECIPIENT_CHOICES = {
    RECIPIENTS_ANY: _l("Members and community pools in the district"),
    RECIPIENTS_POOLS: _l("Community pools only"),
    RECIPIENTS_SAME_COMMUNITY: _l("Members and the pool of the giver's own community"),
}

settings.declare(STORAGE_CAP, 90_000,
                 "Most minutes a member account may hold; deposits above it go to the "
                 "member's community pool.")
settings.declare(RELAY_RECIPIENTS, RECIPIENTS_ANY,
                 "Who may receive relayed hours: members_and_pools, pools_only or "
                 "same_community.", str)
settings.declare(RELAY_YEARLY_LIMIT, 12_000,
                 "Most minutes a member may relay per calendar year (0 = no limit).")
settings.declare(GROUP_DONATE_ONLY, False,
                 "Hours from group service are credited to the community pool, not the "
                 "member.", bool)

KEYS = (STORAGE_CAP, RELAY_RECIPIENTS, RELAY_YEARLY_LIMIT, GROUP_DONATE_ONLY)
_SETTINGS = Setting.__table__
#: Built once: every ledger write reads the rules, and building the query cost more than running it.
_CURRENT = select(_SETTINGS.c.key, _SETTINGS.c.value).where(_SETTINGS.c.key.in_(KEYS))


@dataclasses.dataclass(frozen=True)
class Rules:
    storage_cap_minutes: int
    relay_recipients: str
    relay_yearly_limit_minutes: int
    group_service_donate_only: bool


def current() -> Rules:
    """All ledger rules, read once per database transaction (every ledger write reads them).

    Rules change rarely and by a district admin's request; within one transaction they are the
    same unless that transaction changed them, which :func:`forget` handles.
    """
    root = db.session().get_transaction()
    cached = db.session.info.get("ledger.rules")
    if root is not None and cached is not None and cached[0] is root:
        return cached[1]
    stored = dict(db.session.execute(_CURRENT).all())
    value = {k: stored.get(k, settings.REGISTRY[k].default) for k in KEYS}
    rules = Rules(
        storage_cap_minutes=int(value[STORAGE_CAP]),
        relay_recipients=str(value[RELAY_RECIPIENTS]),
        relay_yearly_limit_minutes=int(value[RELAY_YEARLY_LIMIT]),
        group_service_donate_only=bool(value[GROUP_DONATE_ONLY]),
    )
    root = db.session().get_transaction()
    if root is not None:
        db.session.info["ledger.rules"] = (root, rules)
    return rules


def forget() -> None:
    """Drop the rules read in this transaction (after changing them)."""
    db.session.info.pop("ledger.rules", None)
