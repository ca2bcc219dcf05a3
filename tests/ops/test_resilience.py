"""A database outage answers a clean 503 (page or JSON), and the app recovers by itself."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import exc

from timebank import create_app
from timebank.config import TestConfig
from timebank.ops.resilience import is_unavailable

DEAD_URL = "postgresql+psycopg://tbuser:s3cr3t-pw@127.0.0.1:1/nowhere"


@pytest.fixture
def dead_client(database):
    app = create_app(TestConfig(DEAD_URL, str(database.instance)))
    app.config["WTF_CSRF_ENABLED"] = False
    return app.test_client()


def test_pre_ping_is_on(app, db):
    assert db.engine.pool._pre_ping


def test_a_page_while_the_database_is_down_is_a_clean_503(dead_client):
    response = dead_client.post("/auth/login", data={"phone": "13800000005",
                                                     "password": "demo12345"})
    assert response.status_code == 503
    assert "Retry-After" in response.headers  # (the login limit may state its own)
    assert "text/html" in response.content_type
    assert "暂时无法使用" in response.text  # the Chinese message, on the site's error page
    for leak in ("Traceback", "OperationalError", "s3cr3t-pw", "127.0.0.1", "psycopg"):
        assert leak not in response.text


def test_the_api_while_the_database_is_down_answers_json_503(dead_client):
    response = dead_client.post("/api/v1/auth/token", json={"phone": "13800000005",
                                                            "password": "demo12345"})
    assert response.status_code == 503
    assert response.get_json()["code"] == "unavailable"
    response = dead_client.get("/api/v1/me/account", headers={"Authorization": "Bearer abc"})
    assert response.status_code == 503
    assert response.get_json()["code"] == "unavailable"


def test_a_bad_query_is_still_a_500_not_an_outage():
    class Orig(Exception):
        pass

    missing = exc.OperationalError("SELECT x", {}, Orig("no such table: nothing"))
    refused = exc.OperationalError("connect", {}, Orig("connection refused"))
    dropped = exc.DBAPIError("SELECT 1", {}, Orig("x"), connection_invalidated=True)
    assert not is_unavailable(missing)
    assert is_unavailable(refused) and is_unavailable(dropped)
    assert is_unavailable(exc.TimeoutError("QueuePool limit reached"))
    assert not is_unavailable(exc.IntegrityError("INSERT", {}, Orig("duplicate")))


def _terminate_others(url: str) -> int:
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return len(conn.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")).all())
    finally:
        admin.dispose()


@pytest.mark.postgres
def test_requests_recover_after_every_connection_is_terminated(app, db, database, tree,
                                                                client, token_for):
    from flask import jsonify

    from timebank.core.access import public
    from timebank.extensions import db as ext_db

    @public
    def dies_mid_request():
        ext_db.session.execute(sa.text("SELECT 1"))  # this request's connection is checked out
        _terminate_others(database.url)
        ext_db.session.execute(sa.text("SELECT 1"))  # the server has dropped it
        return jsonify(ok=True)

    app.add_url_rule("/api/v1/_test/dies", view_func=dies_mid_request)
    token = token_for(tree.member)
    client.login(tree.staff)
    api = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/").status_code == 200
    assert api.get("/api/v1/me/account", headers=auth).status_code == 200

    def served_again():
        # Without any restart the next requests are served: pre-ping replaces dead connections.
        for _ in range(3):
            assert client.get("/").status_code == 200
            response = api.get("/api/v1/me/account", headers=auth)
            assert response.status_code == 200 and "balance_minutes" in response.text

    # Killed between requests: every pooled connection is dead.
    assert _terminate_others(database.url) >= 1
    served_again()
    # Killed under a running request: that request answers 503, not a traceback ...
    response = api.get("/api/v1/_test/dies")
    assert response.status_code == 503 and response.get_json()["code"] == "unavailable"
    assert "Traceback" not in response.text and "AdminShutdown" not in response.text
    # ... and the requests after it are served.
    served_again()
    db.session.rollback()
    assert db.session.execute(sa.text("SELECT count(*) FROM users")).scalar() >= 1
