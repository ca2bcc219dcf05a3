"""Per-user rate limits on claiming, checking in and verifying, shared by the pages and the
API (one budget per user, whichever way they come in). Limits are read from the config at each
request, so tests and deployments can change them (``TIMEBANK_POSTS_CLAIM_LIMIT`` etc.)."""
from __future__ import annotations

import os

from flask import Flask, current_app
from timebank.core.limits import user_key
from timebank.extensions import limiter

DEFAULTS = {
    "POSTS_CLAIM_LIMIT": "30 per minute;300 per day",
    "POSTS_CHECKIN_LIMIT": "20 per minute",
    "POSTS_VERIFY_LIMIT": "120 per minute",
}


def init_app(app: Flask) -> None:
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, os.environ.get(f"TIMEBANK_{key}", value))




def _limit(key: str):
    return limiter.shared_limit(lambda: current_app.config[key], scope=key.lower(),
                                key_func=user_key, methods=["POST", "DELETE"])


claim_limit = _limit("POSTS_CLAIM_LIMIT")
checkin_limit = _limit("POSTS_CHECKIN_LIMIT")
verify_limit = _limit("POSTS_VERIFY_LIMIT")
