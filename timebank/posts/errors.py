"""Named rejections of the posts feature. ``code`` is stable: the API's clients branch on it."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from timebank.core.errors import Conflict, Forbidden, NotFound


class PostFull(Conflict):
    code = "post_full"
    default_message = _l("There are no places left.")


class AlreadyClaimed(Conflict):
    code = "already_claimed"
    default_message = _l("You have already claimed this.")


class DeadlinePassed(Conflict):
    code = "deadline_passed"
    default_message = _l("The claim deadline has passed.")


class PostClosed(Conflict):
    code = "post_closed"
    default_message = _l("This post is not open for claims.")


class NotApproved(Forbidden):
    default_message = _l("Only members whose reporting has been approved may claim posts.")


class BadToken(NotFound):
    """A forged or malformed code names no session: not found, like a guessed id."""

    default_message = _l("This QR code is not valid.")


class TokenExpired(Conflict):
    """A real session's code after the session's end plus the grace period."""

    code = "token_expired"
    default_message = _l("This QR code has expired.")


class NeedsReview(Conflict):
    code = "needs_review"
    default_message = _l("This record is flagged: look at the reason and confirm to verify it.")


class TimeConflict(Conflict):
    code = "time_conflict"
    default_message = _l("You have already claimed another session at that time.")


class MonthlyLimitReached(Conflict):
    """The member's own registration form says at most N sessions a month."""

    code = "monthly_limit"
    default_message = _l("You have reached the number of sessions a month you set in your "
                         "registration form.")
