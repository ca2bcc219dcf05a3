"""Request-wide behaviour: login requirement, security headers, error pages, template helpers."""
from __future__ import annotations

import datetime as dt
import logging
import re

from flask import Flask, abort, jsonify, redirect, render_template, request, url_for
from flask_babel import format_datetime, gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter

from timebank.core import clock
from timebank.core.access import MAX_DB_INT, endpoint_is_public, wants_json
from timebank.core.errors import DomainError
from timebank.extensions import db

log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)

#: No list is that long; a page number past it is answered like a page past the end (404).
MAX_PAGE = 100_000


class BoundedIntConverter(IntegerConverter):
    """The app's ``int`` URL converter: like werkzeug's, but a number too large for the database
    does not match, so ``/members/99999999999999999999`` is a 404 on every route at once.

    The regex also caps the digits: a value werkzeug matches by its regex and only then refuses
    by ``max`` is answered 405 where another rule has the same path with other methods."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):
        bound = MAX_DB_INT if max is None or max > MAX_DB_INT else max
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=bound, signed=signed)
        digits = rf"\d{{1,{len(str(bound))}}}"
        self.regex = f"-?{digits}" if signed else digits


def db_int(value: str) -> int:
    """``type=`` for ``request.args.get`` / ``getlist``: a whole number the database can hold.
    Anything else raises ValueError, which werkzeug turns into the default (or skips)."""
    number = int(value)
    if not -MAX_DB_INT <= number <= MAX_DB_INT:
        raise ValueError("out of range")
    return number


def page_arg(name: str = "page") -> int:
    """The page number of a list, the one parser every paged list uses: missing or not a
    number -> 1; a number below 1 or past ``MAX_PAGE`` (however many digits) -> 404, as
    ``db.paginate`` answers a page past the end."""
    raw = request.args.get(name, "").strip()
    if not re.fullmatch(r"-?[0-9]+", raw):
        return 1
    # Compared as text first: int() of a 5000-digit string is refused by Python itself.
    if raw.startswith("-") or len(raw) > len(str(MAX_PAGE)) or not 1 <= int(raw) <= MAX_PAGE:
        abort(404)
    return int(raw)


def hours(minutes: int | None) -> str:
    """Minutes as hours with one decimal ("90" -> "1.5"), for pages and flashed messages: the
    ``hours`` template filter is this function.
    Rounded half away from zero on exact minutes (195 min = 3.25 h -> "3.3"); the one hours
    formatter for people: the ledger, exports' text and the API's hour numbers go through it.
    """
    from decimal import ROUND_HALF_UP, Decimal

    if not minutes:
        return "0"
    text = f"{(Decimal(minutes) / 60).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP):f}"
    return text[:-2] if text.endswith(".0") else text


def run_upload(form, apply):
    """A spreadsheet upload page's POST, the same for every import: ``apply(upload)`` reads and
    writes (raising a DomainError for a refused file, shown under the file field); the result
    is committed only when it says so (all-or-nothing imports with bad rows roll back).
    Returns ``(result or None, status)``: 400 refused, 422 rows with errors, 200 otherwise."""
    from timebank.core.errors import DomainError
    from timebank.extensions import db

    if not form.validate_on_submit():
        return None, (400 if request.method == "POST" else 200)
    try:
        result = apply(form.file.data)
    except DomainError as e:
        db.session.rollback()
        form.file.errors = list(form.file.errors) + [str(e.message)]
        return None, 400
    if result.committed:
        db.session.commit()
    else:
        db.session.rollback()
    return result, (422 if result.errors else 200)


def _error_message(status: int) -> str:
    return {
        400: _("The request could not be understood. Go back and try again."),
        403: _("You do not have permission to see this page."),
        404: _("The page you are looking for does not exist or is not available to you."),
        405: _("This action is not allowed here."),
        413: _("The uploaded file is too large."),
        429: _("Too many attempts. Please wait a while and try again."),
        500: _("An unexpected error occurred. It has been logged; please try again later."),
    }.get(status, _("Something went wrong."))


API_ERROR_CODES = {400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                   405: "method_not_allowed", 409: "conflict", 413: "too_large",
                   429: "rate_limited", 500: "server_error"}


def error_response(status: int, message: str | None = None, code: str | None = None):
    message = message or _error_message(status)
    if wants_json():
        return jsonify({"code": code or API_ERROR_CODES.get(status, "error"),
                        "message": str(message)}), status
    title = {
        400: _("Bad request"), 403: _("No permission"), 404: _("Page not found"),
        405: _("Method not allowed"), 413: _("File too large"), 429: _("Too many attempts"),
        500: _("Something went wrong"),
    }.get(status, _("Error"))
    return render_template("errors/error.html", status=status, title=title,
                           message=message), status


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, except that a body nested deeper than the parser can recurse is invalid JSON
    (a ``ValueError``, which ``request.get_json`` turns into a 400, or None when ``silent``)
    instead of a RecursionError and a 500, wherever a body is read: views, the API, the
    rate-limit key functions."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def init_app(app: Flask) -> None:
    app.json = JSONProvider(app)
    # Before any blueprint adds its rules: the converter is bound when a rule is added.
    app.url_map.converters["int"] = BoundedIntConverter

    @app.before_request
    def require_login():
        if endpoint_is_public(request.endpoint) or current_user.is_authenticated:
            return None
        if wants_json():
            return error_response(401, _("Log in first."), "unauthorized")
        if request.endpoint is None:
            return None  # let the 404 handler answer
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if current_user.is_authenticated and not request.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "private, no-store")
        return response

    @app.teardown_request
    def rollback_unfinished(exc):
        # Anything not committed by the view is discarded: no half-written state survives.
        if exc is not None:
            db.session.rollback()

    for status in (400, 403, 404, 413):
        app.register_error_handler(status, lambda e, s=status: error_response(s))

    @app.errorhandler(405)
    def method_not_allowed(e):
        # RFC 9110 15.5.6: a 405 must say which methods the resource does take.
        body, status = error_response(405)
        response = app.make_response((body, status))
        if getattr(e, "valid_methods", None):
            response.headers["Allow"] = ", ".join(sorted(e.valid_methods))
        return response

    @app.errorhandler(429)
    def too_many(e):
        # A limit's own answer (``on_breach``, e.g. the exports' message) wins over the default.
        if getattr(e, "response", None) is not None:
            return e.response
        return error_response(429)

    @app.errorhandler(CSRFError)
    def csrf_error(e):
        return error_response(400, _("The form has expired or is invalid. Reload the page and "
                                     "try again."), "csrf")

    @app.errorhandler(DomainError)
    def domain_error(e: DomainError):
        db.session.rollback()
        return error_response(e.status, str(e.message), e.code)

    @app.errorhandler(500)
    def server_error(e):
        db.session.rollback()
        return error_response(500)

    @app.errorhandler(Exception)
    def unhandled(e):
        from werkzeug.exceptions import HTTPException

        if isinstance(e, HTTPException):
            return error_response(e.code or 500)
        log.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return error_response(500)

    @app.context_processor
    def template_globals():
        from timebank.core.nav import nav_groups, nav_items

        return {"nav_items": nav_items, "nav_groups": nav_groups,
                "current_locale": request.cookies.get("lang", "zh_CN")}

    @app.template_filter("localdt")
    def localdt(value: dt.datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
        if value is None:
            return ""
        return format_datetime(value, fmt)

    app.add_template_filter(hours)
    app.jinja_env.globals["now"] = clock.now
