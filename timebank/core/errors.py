"""Domain errors. Operations raise them with a reason; views and the API turn them into a
message and a status code. ``code`` is stable: API clients branch on it."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l


class DomainError(Exception):
    code = "invalid"
    status = 400
    default_message = _l("The request could not be processed.")

    def __init__(self, message=None, **details) -> None:
        self.message = message if message is not None else self.default_message
        self.details = details
        super().__init__(str(self.message))


class Invalid(DomainError):
    code = "invalid"
    status = 400
    default_message = _l("The data submitted is not valid.")


class Forbidden(DomainError):
    code = "forbidden"
    status = 403
    default_message = _l("You do not have permission to do this.")


class NotFound(DomainError):
    code = "not_found"
    status = 404
    default_message = _l("The page or object does not exist.")


class Conflict(DomainError):
    code = "conflict"
    status = 409
    default_message = _l("This conflicts with the current state; reload and try again.")
