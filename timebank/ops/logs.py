"""Logging: request ids, JSON lines (``TIMEBANK_LOG_FORMAT=json``) and a redacting filter.

Every request has an id: the client's (or the proxy's) ``X-Request-ID`` when it is a plain token,
a new one otherwise; it is sent back in the same header and stamped on every log record written
while the request is served. The redacting filter sits on the handlers, so whatever a module
logs (messages, arguments, tracebacks with SQL parameters) leaves the process without
passwords, phone numbers or ID card numbers.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import uuid

from flask import Flask, g, has_request_context, request

HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

#: ``password=...``, ``"password": "..."``, ``passwd``, ``secret``, ``token`` and friends.
_SECRET_PAIR = re.compile(
    r"""(?ix)
    (["']?\b[\w-]*(?:password|passwd|pwd|secret|token|api[_-]?key)[\w-]*\b["']?
     \s*[:=]\s*)
    (?:"[^"]*"|'[^']*'|[^\s,;&)}\]]+)""")
#: A mainland ID card number (18 characters, the last may be X; or the old 15 digits).
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
#: A mainland mobile number, alone or with +86 / 86 in front.
_PHONE = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?1[3-9]\d{9}(?![0-9])")


def redact(text: str) -> str:
    """``text`` with secrets, ID card numbers and phone numbers masked."""
    text = _SECRET_PAIR.sub(lambda m: m.group(1) + "[redacted]", text)
    text = _ID_NUMBER.sub("[id-number]", text)
    return _PHONE.sub("[phone]", text)


class RedactingFilter(logging.Filter):
    """Masks the formatted message and the traceback of every record it sees."""

    _tb = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep what there is
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._tb.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id() if has_request_context() else "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


def request_id() -> str:
    """This request's id (taken from ``X-Request-ID`` when it is a plain token)."""
    rid = g.get("request_id")
    if rid is None:
        given = request.headers.get(HEADER, "")
        rid = given if _VALID_ID.fullmatch(given) else uuid.uuid4().hex
        g.request_id = rid
    return rid


def install(handler: logging.Handler, fmt: str) -> None:
    """Put the filters (and, for ``json``, the formatter) on ``handler``."""
    for flt in handler.filters:
        if isinstance(flt, (RedactingFilter, RequestIdFilter)):
            return
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactingFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))


def configure(app: Flask) -> None:
    """Request ids on every response; the filters on the root logger's handlers (not under
    tests, whose handlers belong to pytest: tests install them on their own handler)."""
    fmt = app.config["TIMEBANK_LOG_FORMAT"]
    if not app.testing:
        root = logging.getLogger()
        if not root.handlers:
            root.addHandler(logging.StreamHandler(sys.stderr))
            root.setLevel(logging.INFO)
        for handler in root.handlers:
            install(handler, fmt)

    @app.after_request
    def send_request_id(response):
        response.headers[HEADER] = request_id()
        return response
