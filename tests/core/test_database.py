"""SQLite is set up for a multi-process server: FKs, WAL, busy timeout, BEGIN IMMEDIATE."""
import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError


@pytest.fixture
def sqlite_only(db):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite-specific")


def test_pragmas(db, sqlite_only):
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_postgres_plans_every_execution(db):
    """A prepared statement's generic plan made on a small table would outlive its growth (see
    core/db.py): every PostgreSQL connection plans each execution afresh."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL-specific")
    db.engine.dispose()  # a brand-new connection, not one the fixtures configured
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar() == "force_custom_plan"


def test_foreign_keys_enforced(db, sqlite_only):
    with pytest.raises(IntegrityError):
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO role_assignments (user_id, role, org_id, created_at)"
                              " VALUES (999, 'member', 999, '2026-01-01')"))


def test_no_lost_updates_between_concurrent_writers(app, db, tree):
    """Read-modify-write from eight threads loses nothing on either database: on SQLite because
    writes BEGIN IMMEDIATE (a deferred BEGIN would lose updates or fail with 'database is
    locked'), on PostgreSQL because the read takes a row lock (FOR UPDATE, a no-op on SQLite)."""
    from timebank.accounts.models import User

    uid = tree.member.id
    start = tree.member.session_version  # role grants bump it, so read it rather than assume 1
    db.session.rollback()  # the test's own snapshot must not pin an old version
    barrier = threading.Barrier(8)
    errors = []

    def bump():
        with app.app_context():
            try:
                barrier.wait()
                for _ in range(10):
                    user = db.session.get(User, uid, with_for_update=True)
                    user.session_version = user.session_version + 1
                    db.session.commit()
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    db.session.rollback()
    assert db.session.get(User, uid).session_version == start + 80
