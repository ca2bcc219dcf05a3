"""``/healthz`` and ``/readyz``: no login, JSON, 503 naming the failed check, no secrets."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from timebank import create_app
from timebank.config import TestConfig
from timebank.core import clock

DEAD_URL = "postgresql+psycopg://tbuser:s3cr3t-pw@127.0.0.1:1/nowhere"


def _beat(db):
    from timebank.jobs import operations

    operations.beat(4242, "sched-host")
    db.session.commit()


def _verify_run(db, outcome):
    from timebank.jobs import operations

    period = clock.now().replace(microsecond=0) - dt.timedelta(hours=1)
    run_id = operations.claim_run("ledger.verify", period, "schedule", None,
                                  stale_before=clock.now())
    operations.finish_run(run_id, outcome, error="3 problems" if outcome == "failed" else None)
    db.session.commit()


def test_healthz_answers_without_login_or_database(client, database):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    dead = create_app(TestConfig(DEAD_URL, str(database.instance)))
    response = dead.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_is_ok_when_every_check_holds(client, db):
    _beat(db)
    response = client.get("/readyz")
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["status"] == "ok" and body["failed"] == []
    assert set(body["checks"]) == {"database", "migrations", "scheduler", "ledger"}
    assert body["checks"]["ledger"] == {"ok": True, "last_verify": None}
    _verify_run(db, "ok")
    assert client.get("/readyz").status_code == 200


def test_readyz_names_a_missing_or_stale_heartbeat(client, db):
    from timebank.core.settings import Setting
    from timebank.jobs.operations import HEARTBEAT

    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["failed"] == ["scheduler"]
    _beat(db)
    db.session.execute(update(Setting).where(Setting.key == HEARTBEAT)
                       .values(updated_at=clock.now() - dt.timedelta(minutes=10)))
    db.session.commit()
    body = client.get("/readyz").get_json()
    assert body["failed"] == ["scheduler"]
    assert body["checks"]["scheduler"]["reason"] == "scheduler heartbeat too old"


def test_readyz_fails_after_a_failed_ledger_verification(client, db):
    _beat(db)
    _verify_run(db, "failed")
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["failed"] == ["ledger"]
    assert body["checks"]["ledger"]["reason"] == "last ledger verification failed"
    assert "problems" not in response.text  # the job's error text stays on the jobs page


def test_readyz_fails_when_migrations_are_not_at_head(app, client, db):
    _beat(db)
    app.extensions["ops_migration_heads"] = {"0099z"}
    body = client.get("/readyz").get_json()
    assert "migrations" in body["failed"]
    assert body["checks"]["migrations"]["head"] == ["0099z"]


def test_readyz_with_the_database_down_names_it_and_leaks_nothing(database):
    dead = create_app(TestConfig(DEAD_URL, str(database.instance)))
    response = dead.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["failed"] == ["database", "migrations", "scheduler", "ledger"]
    assert body["checks"]["database"] == {"ok": False, "reason": "database unreachable"}
    for secret in ("s3cr3t-pw", "tbuser", "127.0.0.1", "nowhere", dead.config["SECRET_KEY"]):
        assert secret not in response.text


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_a_logged_in_session_is_not_needed_nor_loaded(client, tree, path):
    client.login(tree.member)
    response = client.get(path)
    assert response.status_code in (200, 503)
    assert response.is_json
