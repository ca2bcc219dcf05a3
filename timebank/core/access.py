"""Access helpers: every route is login-only unless marked :func:`public`; views load, check,
then act."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from flask import abort, current_app, request
from flask_login import current_user

from timebank.extensions import db

F = TypeVar("F", bound=Callable)


def public(view: F) -> F:
    """Mark a view as reachable without logging in."""
    view.is_public = True  # type: ignore[attr-defined]
    return view


def endpoint_is_public(endpoint: str | None) -> bool:
    if endpoint is None or endpoint == "static" or endpoint.startswith("bootstrap."):
        return True
    view = current_app.view_functions.get(endpoint)
    return bool(getattr(view, "is_public", False))


def require(condition: bool) -> None:
    """403 unless ``condition`` holds (for checks on objects the user may already see)."""
    if not condition:
        abort(403)


#: The largest id a database column holds (SQLite and PostgreSQL bigint). A larger number
#: cannot even be bound as a query parameter (OverflowError), so it must never reach a query.
MAX_DB_INT = 2**63 - 1


def get_or_404(model, ident, visible: Callable[[object], bool] | None = None):
    """Load by id; 404 if absent or if ``visible(obj)`` says the user may not know it exists.

    Objects outside the user's scope answer 404, never 403, so ids cannot be probed.
    """
    try:
        ident = int(ident)
    except (TypeError, ValueError):
        abort(404)
    # A number no id column can hold (e.g. ``?session=99999999999999999999``) names nothing;
    # SQLite would refuse to bind it (OverflowError, a 500) rather than find no row.
    if not 0 < ident <= MAX_DB_INT:
        abort(404)
    obj = db.session.get(model, ident)
    if obj is None or (visible is not None and not visible(obj)):
        abort(404)
    return obj


def is_safe_redirect(target: str | None) -> bool:
    """Only local absolute paths: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target:
        return False
    if "\\" in target or any(ord(c) < 32 for c in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//")


def current_user_or_none():
    return current_user if current_user.is_authenticated else None


def wants_json() -> bool:
    return request.path.startswith("/api/")
