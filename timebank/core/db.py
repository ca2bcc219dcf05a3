"""Database base: naming convention, typed models, UTC timestamps, SQLite setup.

SQLite is configured the way its documentation asks for a multi-process server: foreign keys on,
WAL, a busy timeout, and writes that take the write lock when their transaction starts
(``BEGIN IMMEDIATE``). pysqlite's own deferred BEGIN lets two writers read the same row and then
fail or lose an update when both try to write; see SQLAlchemy's "Serializable isolation /
Savepoints / Transactional DDL" notes for the pysqlite driver.
"""
from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from collections.abc import Iterator

from flask_babel import get_locale
from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped
from sqlalchemy.types import TypeDecorator

#: Constraint names are predictable, so Alembic can alter or drop them on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Bilingual:
    """A row named in Chinese (``name``) with an optional English name (``name_en``):
    ``display_name`` is the one to show in the current language."""

    name: Mapped[str]
    name_en: Mapped[str]

    @property
    def display_name(self) -> str:
        locale = get_locale()
        if locale is not None and locale.language == "en" and self.name_en:
            return self.name_en
        return self.name


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime in Python, a plain UTC timestamp in the database.

    Stored without zone on both databases so SQLite and PostgreSQL compare and sort alike;
    naive values are refused because their zone is a guess.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.timezone.utc)


# --- SQLite transaction mode -------------------------------------------------------------------

#: "IMMEDIATE" (take the write lock at BEGIN) or "DEFERRED" (plain reads).
_sqlite_begin: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "sqlite_begin", default=None
)


@contextlib.contextmanager
def read_only() -> Iterator[None]:
    """Mark the transactions started inside as reads: on SQLite they do not take the write lock."""
    token = _sqlite_begin.set("DEFERRED")
    try:
        yield
    finally:
        _sqlite_begin.reset(token)


@contextlib.contextmanager
def write_intent() -> Iterator[None]:
    """Force ``BEGIN IMMEDIATE`` for transactions started inside (e.g. a GET that writes)."""
    token = _sqlite_begin.set("IMMEDIATE")
    try:
        yield
    finally:
        _sqlite_begin.reset(token)


def _begin_mode() -> str:
    mode = _sqlite_begin.get()
    if mode:
        return mode
    # Safe HTTP methods only read, so they must not queue behind writers for the write lock.
    from flask import has_request_context, request

    if has_request_context() and request.method in ("GET", "HEAD", "OPTIONS"):
        return "DEFERRED"
    return "IMMEDIATE"


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record):
    if type(dbapi_connection).__module__ not in ("sqlite3", "pysqlite2.dbapi2"):
        return
    # Let SQLAlchemy's "begin" event below emit BEGIN; pysqlite's own would be deferred.
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys = ON")
    cur.execute("PRAGMA busy_timeout = 30000")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.close()


@event.listens_for(Engine, "connect")
def _postgres_on_connect(dbapi_connection, connection_record):
    if not type(dbapi_connection).__module__.startswith("psycopg"):
        return
    # psycopg prepares a statement run five times on a connection, and PostgreSQL may then keep
    # a generic plan made while a table was small: connections live long, so a lookup planned
    # as a scan of an empty ledger went on scanning it at 100,000 rows (bench/ledger.py fell
    # from 1,500 to 500 deposits/s within one connection). Prepared statements still save the
    # parse; each execution is planned for the table as it is.
    with dbapi_connection.cursor() as cur:
        cur.execute("SET plan_cache_mode = force_custom_plan")
    dbapi_connection.commit()


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn):
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _begin_mode() == "IMMEDIATE" else "BEGIN")


def is_postgres(session_or_engine) -> bool:
    bind = session_or_engine.get_bind() if hasattr(session_or_engine, "get_bind") else session_or_engine
    return bind.dialect.name == "postgresql"


def create_private_sqlite_file(url: str) -> None:
    """Create the SQLite database file readable by its owner only (0600), like the keys.

    SQLite would create it with the process umask (usually 0644: world-readable), and its -wal
    and -shm files copy the main file's mode, so creating the main file first covers all three.
    An existing file is left as it is: its mode is the operator's choice."""
    import os

    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    path = parsed.database
    if parsed.get_backend_name() != "sqlite" or not path or path == ":memory:" \
            or path.startswith("file:"):
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except FileNotFoundError:
        pass  # no such folder: SQLite's own error says so on the first connection
