"""Check-in QR codes: a signed token per session, rendered by the server as SVG.

The token carries the session id and an expiry (the session's end plus a grace period), signed
with the app's secret: it cannot be forged for another session or stretched past its expiry. It is
not secret from the members in the room (anyone present may photograph the code); what it proves
is "I was shown this session's code while it was valid", and check-in still needs the member's own
claim on that session.
"""
from __future__ import annotations

import datetime as dt
import io

import segno
from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from markupsafe import Markup

from timebank.core import clock
from timebank.posts.errors import BadToken, TokenExpired

#: How long after the session's end the code still works (late check-outs).
GRACE = dt.timedelta(hours=2)
_SALT = "posts.checkin.v1"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def token_for(session) -> str:
    expires = int((session.ends_at + GRACE).timestamp())
    return _serializer().dumps([session.id, expires])


def read_token(token: str, now: dt.datetime | None = None) -> int:
    """The session id in ``token``; :class:`BadToken` if forged or malformed,
    :class:`TokenExpired` after the session's end plus the grace period."""
    try:
        session_id, expires = _serializer().loads(token or "")
        session_id, expires = int(session_id), int(expires)
    except (BadSignature, TypeError, ValueError):
        raise BadToken() from None
    if (now or clock.now()).timestamp() > expires:
        raise TokenExpired()
    return session_id


def checkin_url(session) -> str:
    return url_for("posts.checkin_page", token=token_for(session), _external=True)


def svg(data: str, scale: int = 4) -> Markup:
    """An inline ``<svg>`` QR code (no script, no style attribute: fine under the CSP)."""
    code = segno.make(data, error="m")
    return Markup(code.svg_inline(scale=scale, border=2, omitsize=True))


def svg_document(data: str, scale: int = 10) -> bytes:
    """A standalone SVG file (with its namespace, so browsers show it as an image) on white, so
    it scans on a dark screen too."""
    buf = io.BytesIO()
    segno.make(data, error="m").save(buf, kind="svg", scale=scale, border=2, xmldecl=False,
                                     light="#fff")
    return buf.getvalue()
