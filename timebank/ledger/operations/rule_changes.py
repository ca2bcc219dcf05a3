"""Changes to the district's ledger rules (storage cap, who may receive relays)."""
from __future__ import annotations

import dataclasses

from flask_babel import lazy_gettext as _l

from timebank.accounts.models import Role
from timebank.audit import operations as audit
from timebank.core import settings
from timebank.core.errors import Forbidden, Invalid
from timebank.ledger import rules


# --- regional rules ----------------------------------------------------------------------------

def can_edit_rules(user) -> bool:
    return user.is_authenticated and any(
        ra.role == Role.DISTRICT_ADMIN and ra.org.active for ra in user.roles)


def update_rules(actor, *, storage_cap_minutes: int, relay_recipients: str,
                 relay_yearly_limit_minutes: int, group_service_donate_only: bool) -> None:
    if actor is not None and not can_edit_rules(actor):
        raise Forbidden()
    if type(storage_cap_minutes) is not int or storage_cap_minutes <= 0:
        raise Invalid(_l("The storage cap must be a positive number of hours."),
                      field="storage_cap")
    if type(relay_yearly_limit_minutes) is not int or relay_yearly_limit_minutes < 0:
        raise Invalid(_l("The yearly relay limit cannot be negative."), field="relay_limit")
    if relay_recipients not in rules.RECIPIENT_CHOICES:
        raise Invalid(_l("Choose who may receive relayed hours."), field="relay_recipients")
    new = {
        rules.STORAGE_CAP: storage_cap_minutes,
        rules.RELAY_RECIPIENTS: relay_recipients,
        rules.RELAY_YEARLY_LIMIT: relay_yearly_limit_minutes,
        rules.GROUP_DONATE_ONLY: bool(group_service_donate_only),
    }
    old = dataclasses.asdict(rules.current())
    changes = {}
    for key, value in new.items():
        short = key.split(".", 1)[1]
        if old[short] != value:
            settings.put(actor, key, value)
            changes[short] = [old[short], value]
    if changes:
        rules.forget()
        audit.record(actor, "ledger.rules", "settings", None, **changes)
