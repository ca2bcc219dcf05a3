"""Which passwords may be set: long enough, not on a list of common passwords, not the account's
phone number. Checked wherever a password is set (registration, password change, accounts made
by staff or the CLI); see ``data/README.md`` for where the list comes from."""
from __future__ import annotations

import functools
import re
from importlib import resources

from flask_babel import lazy_gettext as _l

from timebank.core.errors import Invalid

MIN_LENGTH = 8
#: Every demo account's password (printed by the demo seeding, so public): never accepted when
#: someone sets a password. Seeding stores its hash directly, bypassing the check on purpose.
DEMO_PASSWORD = "demo12345"


@functools.cache
def common_passwords() -> frozenset[str]:
    text = resources.files("timebank.accounts").joinpath("data/common-passwords.txt").read_text(
        encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def check(password: str | None, phone: str | None = None) -> None:
    """Raise :class:`Invalid` (field ``password``) when ``password`` may not be set."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        raise Invalid(_l("The password must be at least %(n)d characters.", n=MIN_LENGTH),
                      field="password")
    folded = password.strip().lower()
    if folded in common_passwords() or folded == DEMO_PASSWORD:
        raise Invalid(_l("This password is too common and easy to guess. Choose another."),
                      field="password")
    if phone:
        digits = re.sub(r"\D", "", password)
        if phone in password or digits == phone:
            raise Invalid(_l("The password must not contain your mobile number."),
                          field="password")
