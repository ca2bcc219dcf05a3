"""Test harness.

The suite runs on the database named by ``TIMEBANK_TEST_DATABASE_URL`` (SQLite in a temporary
folder when unset; ``.ci/run`` runs it once on SQLite and once on PostgreSQL). The schema is built
by the Alembic migrations, never by ``create_all``, so tests see the real constraints and
triggers. Each test gets an empty database: on SQLite a fresh copy of the migrated file, on
PostgreSQL the tables truncated with triggers off (``session_replication_role = replica``, a
superuser's right: the ledger's tables refuse TRUNCATE otherwise).
"""
from __future__ import annotations

import contextvars
import os
import re
import shutil
import types
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from timebank import create_app
from timebank.config import TestConfig

BASE_URL = os.environ.get("TIMEBANK_TEST_DATABASE_URL", "").strip()
IS_POSTGRES = BASE_URL.startswith("postgresql")
PASSWORD = "correct-horse-9"
# One hash for every test user: scrypt is slow on purpose, and tests make many users.
PASSWORD_HASH = generate_password_hash(PASSWORD)


def pytest_collection_modifyitems(config, items):
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (set TIMEBANK_TEST_DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords and not IS_POSTGRES:
            item.add_marker(skip_pg)


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _pg_url_for_worker() -> sa.URL:
    url = sa.make_url(BASE_URL)
    return url.set(database=f"{url.database}_{_worker()}")


def _upgrade(url: str, instance: Path) -> None:
    from flask_migrate import upgrade

    app = create_app(TestConfig(url, str(instance)))
    with app.app_context():
        upgrade(revision="heads")
        from timebank.extensions import db

        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clock_unfrozen():
    """Every test starts and ends on the real clock: a test that froze it and failed (or a
    state machine whose teardown did not run) must not hand its frozen time to the next."""
    from timebank.core import clock

    clock.freeze_at(None)
    yield
    clock.freeze_at(None)


@pytest.fixture(scope="session")
def database(tmp_path_factory):
    """Migrated database for this worker: ``(kind, template_path_or_url)``."""
    instance = tmp_path_factory.mktemp("instance")
    if IS_POSTGRES:
        url = _pg_url_for_worker()
        admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
        admin.dispose()
        rendered = url.render_as_string(hide_password=False)
        _upgrade(rendered, instance)
        yield types.SimpleNamespace(kind="postgresql", url=rendered, instance=instance)
    else:
        template = tmp_path_factory.mktemp("db") / "template.sqlite3"
        _upgrade(f"sqlite:///{template}", instance)
        yield types.SimpleNamespace(kind="sqlite", template=template, instance=instance)


def _truncate_all(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        tables = conn.execute(sa.text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version'"
        )).scalars().all()
        if tables:
            names = ", ".join(f'"{t}"' for t in tables)
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def db_url(database, tmp_path) -> str:
    """URL of an empty, migrated database for this test."""
    if database.kind == "postgresql":
        _truncate_all(database.url)
        return database.url
    path = tmp_path / "test.sqlite3"
    shutil.copyfile(database.template, path)
    return f"sqlite:///{path}"


class Client(FlaskClient):
    """Test client that logs in through the real form and adds the CSRF token to form posts."""

    _csrf: str | None = None

    def csrf_token(self) -> str:
        if self._csrf is None:
            page = self.get("/auth/login")
            self._csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
        return self._csrf

    def open(self, *args, **kwargs):
        method = kwargs.get("method", "GET")
        data = kwargs.get("data")
        if (method == "POST" and isinstance(data, dict) and "csrf_token" not in data
                and kwargs.pop("csrf", True) and not kwargs.get("json")):
            kwargs["data"] = {**data, "csrf_token": self.csrf_token()}
        else:
            kwargs.pop("csrf", None)
        # The test's own session must not hold a transaction (on SQLite: a lock) while the
        # app serves the request, and must see what the request wrote afterwards.
        from flask import has_app_context

        from timebank.extensions import db

        if has_app_context():
            db.session.commit()
        # Run the request in an empty context: Flask would otherwise reuse the test's app
        # context (and its ``g`` and session) for every request, unlike a real server.
        response = contextvars.Context().run(super().open, *args, **kwargs)
        path = args[0] if args and isinstance(args[0], str) else kwargs.get("path", "")
        if method == "POST" and path.startswith(("/auth/login", "/auth/logout")):
            self._csrf = None  # the session (and its CSRF secret) was renewed
        return response

    def post(self, *args, **kwargs):
        kwargs.setdefault("data", {})
        return self.open(*args, method="POST", **kwargs)

    def login(self, user_or_phone, password: str = PASSWORD):
        phone = getattr(user_or_phone, "phone", user_or_phone)
        self._csrf = None
        response = self.post("/auth/login", data={"phone": phone, "password": password})
        self._csrf = None  # the session was renewed at login
        assert response.status_code == 302, f"login failed for {phone}"
        return response

    def logout(self):
        self.post("/auth/logout")
        self._csrf = None


@pytest.fixture
def app(db_url, database, tmp_path):
    application = create_app(TestConfig(db_url, str(database.instance)))
    # The instance folder is shared by a worker's tests; the ledger's checkpoints are not.
    application.config["TIMEBANK_LEDGER_CHECKPOINT_FILE"] = str(
        tmp_path / "ledger-checkpoints.jsonl")
    application.test_client_class = Client
    ctx = application.app_context()
    ctx.push()
    # The test body reads between requests; on SQLite it must not take the write lock to do so.
    from timebank.core.db import _sqlite_begin

    token = _sqlite_begin.set("DEFERRED")
    from timebank.extensions import db, limiter

    limiter.reset()
    yield application
    db.session.remove()
    _sqlite_begin.reset(token)
    ctx.pop()
    with application.app_context():
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def db(app):
    from timebank.extensions import db as _db

    return _db


@pytest.fixture
def client(app) -> Client:
    return app.test_client()


@pytest.fixture
def make_client(app):
    """A fresh client (another browser), for tests that need two users at once."""
    return app.test_client


_phone_seq = iter(range(10_000_000))


@pytest.fixture
def make_user(db):
    """``make_user(role=None, org=None, name=None, phone=None)`` -> a committed User."""
    from timebank.accounts import operations as accounts
    from timebank.members import operations as members

    def make(role=None, org=None, name=None, phone=None, **member_kw):
        phone = phone or f"137{next(_phone_seq):08d}"
        user = accounts.create_user(None, phone, name or f"用户{phone[-4:]}",
                                    password_hash=PASSWORD_HASH)
        if role == "member":
            members.create_approved_member(None, user, org, **member_kw)
        elif role is not None:
            accounts.assign_role(None, user, role, org)
        db.session.commit()
        return user

    return make


@pytest.fixture
def tree(db, make_user):
    """A small district with one user per role.

    district D
      street S1: community C1 (grids G1a, G1b), community C2 (grid G2a)
      street S2: community C3 (grid G3a)
      units U1, U2 (in the district)
    Users: district_admin, street_admin (S1), staff (C1), staff3 (C3), liaison (U1),
    liaison2 (U2), member (C1, grid G1a, unit U1), member3 (C3, unit U2).
    """
    from timebank.orgs import operations as orgs
    from timebank.orgs.models import OrgKind

    t = types.SimpleNamespace()
    t.D = orgs.create_node(None, None, OrgKind.DISTRICT, "测试区", code="D")
    t.S1 = orgs.create_node(None, t.D, OrgKind.STREET, "一街道", code="S1")
    t.S2 = orgs.create_node(None, t.D, OrgKind.STREET, "二街道", code="S2")
    t.C1 = orgs.create_node(None, t.S1, OrgKind.COMMUNITY, "甲社区", code="C1")
    t.C2 = orgs.create_node(None, t.S1, OrgKind.COMMUNITY, "乙社区", code="C2")
    t.C3 = orgs.create_node(None, t.S2, OrgKind.COMMUNITY, "丙社区", code="C3")
    t.G1a = orgs.create_node(None, t.C1, OrgKind.GRID, "甲一网格", code="G1a")
    t.G1b = orgs.create_node(None, t.C1, OrgKind.GRID, "甲二网格", code="G1b")
    t.G2a = orgs.create_node(None, t.C2, OrgKind.GRID, "乙一网格", code="G2a")
    t.G3a = orgs.create_node(None, t.C3, OrgKind.GRID, "丙一网格", code="G3a")
    t.U1 = orgs.create_node(None, t.D, OrgKind.UNIT, "区人民医院", code="U1")
    t.U2 = orgs.create_node(None, t.D, OrgKind.UNIT, "区第一中学", code="U2")
    db.session.commit()
    t.district_admin = make_user("district_admin", t.D, name="区管理员")
    t.street_admin = make_user("street_admin", t.S1, name="街道管理员")
    t.street_admin2 = make_user("street_admin", t.S2, name="二街道管理员")
    t.staff = make_user("community_staff", t.C1, name="甲社区工作者")
    t.staff3 = make_user("community_staff", t.C3, name="丙社区工作者")
    t.liaison = make_user("unit_liaison", t.U1, name="医院联络员")
    t.liaison2 = make_user("unit_liaison", t.U2, name="中学联络员")
    t.member = make_user("member", t.C1, name="党员甲", grid=t.G1a, unit=t.U1)
    t.member3 = make_user("member", t.C3, name="党员丙", grid=t.G3a, unit=t.U2)
    return t


@pytest.fixture
def token_for(db):
    """``token_for(user)`` -> a bearer token issued directly (no login round trip)."""
    from timebank.api import operations

    def issue(user):
        raw, _token = operations.issue(user)
        db.session.commit()
        return raw

    return issue
