"""A database that is down answers 503, not a 500 with a traceback, and the app recovers by itself.

The engine pings each pooled connection before handing it out (``pool_pre_ping``, in
``Config``), so connections the server dropped (a restart, ``pg_terminate_backend``, a failover)
are replaced on the next checkout; a request that was using one when it died, or that finds
the server unreachable, gets this 503 with ``Retry-After``.
"""
from __future__ import annotations

import logging

from flask import Flask, g, request
from flask_babel import gettext as _
from sqlalchemy import exc

from timebank.extensions import db, login_manager

log = logging.getLogger(__name__)

RETRY_AFTER = "30"


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be reached (not a bad query)."""
    if isinstance(error, exc.TimeoutError):  # no pooled connection came free in time
        return True
    if isinstance(error, exc.DBAPIError):
        if error.connection_invalidated:
            return True
        if isinstance(error, (exc.OperationalError, exc.InterfaceError)):
            # SQLite's "no such table" is an OperationalError too, but a bug, not an outage.
            message = str(error.orig).lower()
            return not any(s in message for s in ("no such table", "no such column",
                                                  "syntax error"))
    return False


def init_app(app: Flask) -> None:
    def handler(error):
        from flask import make_response

        from timebank.core.web import error_response

        if not is_unavailable(error):  # a bad query: the app's usual 500
            log.exception("unhandled error on %s %s", request.method, request.path)
            db.session.rollback()
            return error_response(500)
        log.error("database unavailable on %s %s: %s", request.method, request.path,
                  type(error).__name__, exc_info=True)
        try:
            db.session.rollback()
        except Exception:
            log.debug("rollback on a dead connection failed", exc_info=True)
        g._login_user = login_manager.anonymous_user()
        response = make_response(error_response(
            503, _("The service is temporarily unavailable. Please try again in a minute."),
            "unavailable"))
        response.headers["Retry-After"] = RETRY_AFTER
        return response

    for cls in (exc.OperationalError, exc.InterfaceError, exc.DBAPIError, exc.TimeoutError):
        app.register_error_handler(cls, handler)
