"""The app as ``bench/claims.py`` serves it: the real app plus a bare endpoint,
``POST /api/v1/bench/ping``, with the same server, bearer-token authentication and one insert, so
the claim path's own cost shows as a ratio.

Benchmark-only: nothing in ``timebank/`` imports this module, so production can never expose the
endpoint. gunicorn loads it as ``ping_app:app`` from this folder.
"""
from __future__ import annotations

from flask import Blueprint, jsonify
from flask_login import current_user

from timebank import create_app
from timebank.api.views import _authenticate as api_authenticate
from timebank.api.views import commit
from timebank.audit import operations as audit
from timebank.extensions import csrf

bp = Blueprint("api_bench", __name__, url_prefix="/api/v1/bench")
csrf.exempt(bp)
bp.before_request(api_authenticate)


@bp.route("/ping", methods=["POST"])
def ping():
    event_id = audit.record(current_user, "bench.ping", "user", current_user.id).id
    commit()
    return jsonify({"id": event_id}), 201


app = create_app()
app.register_blueprint(bp)
