"""Login throttles shared by the login form and ``POST /api/v1/auth/token``: one budget per
phone and one per address, whichever way the guesses come in (separate budgets per route would
double what an attacker gets). Only failed attempts count."""
from __future__ import annotations

from flask import current_app, request

from timebank.core.validators import normalize_phone
from timebank.extensions import limiter


def _phone() -> str:
    if request.is_json:
        data = request.get_json(silent=True)
        phone = data.get("phone") if isinstance(data, dict) else None
    else:
        phone = request.form.get("phone")
    return normalize_phone(phone if isinstance(phone, str) else "")[:20]


def phone_key() -> str:
    return "login-phone:" + _phone()


def login_limits(failed):
    """Decorate a login route; ``failed(response)`` tells whether the attempt failed."""
    per_address = limiter.shared_limit(
        lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], scope="login-address",
        methods=["POST"], deduct_when=failed)
    per_phone = limiter.shared_limit(
        lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], scope="login-account",
        key_func=phone_key, methods=["POST"], deduct_when=failed)

    def decorate(view):
        return per_address(per_phone(view))

    return decorate
