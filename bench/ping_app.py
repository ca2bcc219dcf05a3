"""A bare endpoint for ``bench/claims.py``: the same server, authentication and one insert, so
the claim path's own cost shows as a ratio. Registered only when ``TIMEBANK_BENCH_ENDPOINTS=1``
(never in production)."""
from __future__ import annotations

from flask import Blueprint, jsonify
from flask_login import current_user

from timebank.audit import operations as audit
from timebank.extensions import csrf

bp = Blueprint("api_bench", __name__, url_prefix="/api/v1/bench")
csrf.exempt(bp)


@bp.before_request
def _authenticate():
    from timebank.api.views import _authenticate as api_authenticate

    return api_authenticate()


@bp.route("/ping", methods=["POST"])
def ping():
    from timebank.api.views import commit

    event_id = audit.record(current_user, "bench.ping", "user", current_user.id).id
    commit()
    return jsonify({"id": event_id}), 201
