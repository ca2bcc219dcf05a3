"""Named rejections of the ledger; ``code`` is stable (API clients and other features branch
on it)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from timebank.core.errors import Conflict, Invalid


class InvalidAmount(Invalid):
    code = "invalid_amount"
    default_message = _l("Enter a positive whole number of minutes.")


class InsufficientBalance(Conflict):
    code = "insufficient_balance"
    default_message = _l("Not enough hours in the balance.")


class RelayNotAllowed(Invalid):
    code = "relay_not_allowed"
    default_message = _l("Hours cannot be relayed to this recipient.")


class RelayLimitExceeded(Conflict):
    code = "relay_limit_exceeded"
    default_message = _l("This relay would exceed the yearly relay limit.")


class AlreadyReversed(Conflict):
    """Raised for an attempt to reverse a reversal: the original already stays reversed.
    Reversing an original twice is not an error: it returns the one reversal."""

    code = "already_reversed"
    default_message = _l("This entry is a reversal; it cannot be reversed again.")
