"""Members' personal check-in codes (我的签到码) and what a scanned text is.

A personal code is ``TBM1.`` + the member id, the id of their district and an expiry, signed with
the app's secret (itsdangerous, its own salt): it cannot be made for another member or stretched
past its expiry, and a code from another district's staff is refused. It is short-lived because
it is shown on a screen anyone nearby may photograph; the page showing it fetches a new one
before it runs out.

A session's code is the check-in URL of ``posts.qr`` (what a phone's own camera app opens); the
scanner finds the token in it.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer

from timebank.core import clock
from timebank.core.errors import Invalid

PREFIX = "TBM1."
#: How long a personal code works after it is shown.
LIFETIME = dt.timedelta(minutes=5)
_SALT = "scan.member-code.v1"
#: A session's check-in URL: ``.../posts/checkin/<token>`` (the token is URL-safe base64).
_SESSION_URL = re.compile(r"/posts/checkin/([A-Za-z0-9_.\-]+)/?(?:[?#].*)?$")
#: Longer than any code this app makes: anything else is not ours.
MAX_TEXT = 1000


class CodeInvalid(Invalid):
    code = "code_invalid"
    default_message = _l("This check-in code is not valid.")


class CodeExpired(Invalid):
    code = "code_expired"
    default_message = _l("This check-in code has expired: ask the member to refresh it.")


class OtherDistrict(Invalid):
    code = "other_district"
    default_message = _l("This check-in code belongs to a member of another district.")


class NotOurs(Invalid):
    code = "not_a_checkin_code"
    default_message = _l("This QR code is not a check-in code of the time bank.")


@dataclasses.dataclass(frozen=True)
class Scanned:
    """What a scanned text is: a session's code (``session_token``) or a member's code."""

    session_token: str | None = None
    member_code: str | None = None


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def district_id_of(node) -> int:
    """The district a node belongs to: the root of its path."""
    return node.ancestor_ids[0]


def member_code(member, now: dt.datetime | None = None) -> tuple[str, dt.datetime]:
    """A fresh personal code for ``member`` and when it expires."""
    expires = (now or clock.now()) + LIFETIME
    payload = [member.id, district_id_of(member.community), int(expires.timestamp())]
    return PREFIX + _serializer().dumps(payload), expires


def read_member_code(text: str, district_id: int, now: dt.datetime | None = None) -> int:
    """The member id in a personal code; :class:`CodeInvalid` if forged or malformed,
    :class:`CodeExpired` after its expiry, :class:`OtherDistrict` for another district."""
    if not isinstance(text, str) or not text.startswith(PREFIX):
        raise CodeInvalid()
    try:
        member_id, district, expires = _serializer().loads(text[len(PREFIX):])
        member_id, district, expires = int(member_id), int(district), int(expires)
    except (BadSignature, TypeError, ValueError):
        raise CodeInvalid() from None
    if (now or clock.now()).timestamp() > expires:
        raise CodeExpired()
    if district != district_id:
        raise OtherDistrict()
    return member_id


def classify(text) -> Scanned:
    """Which kind of code ``text`` (the decoded QR) is; :class:`NotOurs` for anything else. Only
    the form is checked here: the signatures are checked by whoever reads the token."""
    if not isinstance(text, str) or not text or len(text) > MAX_TEXT:
        raise NotOurs()
    text = text.strip()
    if text.startswith(PREFIX):
        return Scanned(member_code=text)
    match = _SESSION_URL.search(text)
    if match:
        return Scanned(session_token=match.group(1))
    raise NotOurs()
