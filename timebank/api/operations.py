"""API tokens: issued at login with phone and password, stored hashed, expiring."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload, lazyload

from timebank.accounts.models import User
from timebank.api.models import ApiToken
from timebank.audit import operations as audit
from timebank.core import clock, signals
from timebank.extensions import db

#: Refresh ``last_used_at`` at most this often (every request would otherwise write).
TOUCH_EVERY = dt.timedelta(hours=1)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def issue(user) -> tuple[str, ApiToken]:
    """A new token for ``user``: (the token to hand to the client once, its stored row)."""
    raw = secrets.token_urlsafe(32)
    now = clock.now()
    token = ApiToken(user_id=user.id, token_hash=hash_token(raw), created_at=now,
                     expires_at=now + dt.timedelta(days=current_app.config["API_TOKEN_DAYS"]))
    db.session.add(token)
    db.session.flush()
    audit.record(user, "api_token.issue", "user", user.id, token=token.id)
    return raw, token


def find(raw: str):
    """``(token, member)`` for a valid token (member None for users who are not members), or
    ``(None, None)`` (unknown, expired, revoked, user disabled).

    One query loads the token, its user, the user's member record and its community (with the
    community's parents): every member route needs them, and round trips are what a request
    costs. The user's roles are loaded only if a route asks for them.
    """
    if not raw or len(raw) > 200:
        return None, None
    from timebank.members.models import Member

    row = db.session.execute(
        select(ApiToken, Member)
        .outerjoin(Member, Member.user_id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_token(raw))
        .options(joinedload(ApiToken.user).lazyload(User.roles),
                 joinedload(Member.community), lazyload(Member.user))).first()
    if row is None or not row[0].is_valid():
        return None, None
    return row[0], row[1]


def touch(token: ApiToken) -> bool:
    """Record use, at most hourly; True when it wrote (the caller commits)."""
    now = clock.now()
    if token.last_used_at is not None and now - token.last_used_at < TOUCH_EVERY:
        return False
    db.session.execute(update(ApiToken).where(ApiToken.id == token.id)
                       .values(last_used_at=now).execution_options(synchronize_session=False))
    return True


def revoke(actor, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        db.session.flush()
        audit.record(actor, "api_token.revoke", "user", token.user_id, token=token.id)


def revoke_all(actor, user) -> int:
    """Revoke every live token of ``user``; the number revoked."""
    result = db.session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=clock.now()).execution_options(synchronize_session="fetch"))
    if result.rowcount:
        audit.record(actor, "api_token.revoke_all", "user", user.id, count=result.rowcount)
    return result.rowcount


@signals.credentials_revoked.connect
def _on_credentials_revoked(user, actor=None, **_kwargs) -> None:
    # A password change or "log out everywhere": apps signed in with the old password stop too.
    revoke_all(actor, user)
