"""``/healthz`` (the process is up), ``/readyz`` (it can serve) and ``/metrics``.

No login, no database for ``/healthz``; ``/readyz`` names each check and whether it holds, never
a URL, a host or an error text (those go to the log).
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, g, jsonify
from sqlalchemy import text

from timebank.core import clock
from timebank.core.access import public
from timebank.extensions import db, login_manager
from timebank.ops import metrics

log = logging.getLogger(__name__)

bp = Blueprint("ops", __name__)

VERIFY_JOB = "ledger.verify"


def _anonymous() -> None:
    # Never load a user for these routes (a session cookie would otherwise query the database).
    g._login_user = login_manager.anonymous_user()


@bp.get("/healthz")
@public
def healthz():
    _anonymous()
    return jsonify({"status": "ok"})


def migration_heads() -> set[str]:
    """The heads of the migration scripts (read once per process)."""
    heads = current_app.extensions.get("ops_migration_heads")
    if heads is None:
        from alembic.script import ScriptDirectory

        from timebank.config import PROJECT_ROOT

        heads = set(ScriptDirectory(str(PROJECT_ROOT / "migrations")).get_heads())
        current_app.extensions["ops_migration_heads"] = heads
    return heads


def checks() -> dict[str, dict]:
    """Each readiness check: ``{"ok": bool, ...}`` with a short reason when it fails."""
    from timebank.jobs import queries as jobs

    out: dict[str, dict] = {}
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        log.warning("readyz: the database is unreachable", exc_info=True)
        _rollback()
        reason = {"ok": False, "reason": "database unreachable"}
        return {"database": reason, "migrations": reason, "scheduler": reason, "ledger": reason}
    out["database"] = {"ok": True}
    try:
        current = set(db.session.execute(text("SELECT version_num FROM alembic_version"))
                      .scalars())
    except Exception:
        log.warning("readyz: no migration version", exc_info=True)
        _rollback()
        current = set()
    expected = migration_heads()
    out["migrations"] = ({"ok": True} if current == expected else
                         {"ok": False, "reason": "database not at the migration head",
                          "current": sorted(current), "head": sorted(expected)})
    if current != expected:
        reason = {"ok": False, "reason": "migrations not at head"}
        out["scheduler"] = out["ledger"] = reason
        return out
    max_age = float(current_app.config["TIMEBANK_HEARTBEAT_MAX_AGE"])
    beat = jobs.heartbeat_at()
    if beat is None:
        out["scheduler"] = {"ok": False, "reason": "no scheduler heartbeat yet"}
    else:
        age = max(0, int((clock.now() - beat).total_seconds()))
        out["scheduler"] = ({"ok": True, "age_seconds": age} if age <= max_age else
                            {"ok": False, "reason": "scheduler heartbeat too old",
                             "age_seconds": age, "max_age_seconds": int(max_age)})
    run = jobs.last_finished_run(VERIFY_JOB)
    if run is None:
        # A new installation has not reached its first night: nothing says the ledger is broken.
        out["ledger"] = {"ok": True, "last_verify": None}
    elif run.outcome == "failed":
        out["ledger"] = {"ok": False, "reason": "last ledger verification failed",
                         "last_verify": run.finished_at.isoformat()}
    else:
        out["ledger"] = {"ok": True, "last_verify": run.finished_at.isoformat()}
    _rollback()
    return out


def _rollback() -> None:
    try:
        db.session.rollback()
    except Exception:
        log.debug("rollback after a failed check failed", exc_info=True)


@bp.get("/readyz")
@public
def readyz():
    _anonymous()
    results = checks()
    failed = [name for name, result in results.items() if not result["ok"]]
    body = {"status": "fail" if failed else "ok", "failed": failed, "checks": results}
    response = jsonify(body)
    response.status_code = 503 if failed else 200
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/metrics")
@public
def metrics_view():
    _anonymous()
    if not metrics.authorised():
        return Response("unauthorized\n", status=401, mimetype="text/plain",
                        headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    return metrics.exposition()
