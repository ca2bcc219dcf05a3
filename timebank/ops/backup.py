"""Backups of the database and restores into an empty one.

SQLite is copied with sqlite3's online backup API (a consistent copy while the app writes);
PostgreSQL is dumped with ``pg_dump -Fc`` and restored with ``pg_restore``, both given the
configured URL (the password through ``PGPASSWORD``, never on the command line). A backup is
written under a temporary name and renamed when complete, so a failed one never counts as the
newest. Retention keeps the newest N files of this naming scheme and touches nothing else.
"""
from __future__ import annotations

import dataclasses
import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import sqlalchemy as sa

from timebank.core import clock

SUFFIX = {"sqlite": ".sqlite3", "postgresql": ".pgdump"}
NAME = re.compile(r"^timebank-\d{8}T\d{6}\.\d{6}Z\.(sqlite3|pgdump)$")


class BackupError(Exception):
    """A backup or restore that could not be made; the message says why."""


@dataclasses.dataclass
class Result:
    path: Path
    size: int
    removed: list[Path]

    def summary(self) -> str:
        gone = f", removed {len(self.removed)} older" if self.removed else ""
        return f"backup {self.path.name} ({self.size} bytes){gone}"


def _kind(url: sa.URL) -> str:
    name = url.get_backend_name()
    if name not in SUFFIX:
        raise BackupError(f"backups of {name} databases are not supported")
    return name


def _sqlite_path(url: sa.URL) -> Path:
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise BackupError("this SQLite database is not a plain file")
    return Path(url.database)


def libpq(url: sa.URL) -> tuple[str, dict]:
    """(connection URI without the password, environment with ``PGPASSWORD``) for libpq tools."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (install the PostgreSQL client of the "
                          "server's major version, e.g. apt-get install postgresql-client)")
    return path


def backup_name() -> str:
    return "timebank-" + clock.now().strftime("%Y%m%dT%H%M%S.%fZ")


def backup(url: str | sa.URL, directory: str | Path, keep: int) -> Result:
    """Write a backup of the database at ``url`` into ``directory``; keep the newest ``keep``."""
    if keep < 1:
        raise BackupError("keep at least one backup")
    url = sa.make_url(url)
    kind = _kind(url)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / (backup_name() + SUFFIX[kind])
    partial = final.with_name(final.name + ".part")
    try:
        if kind == "sqlite":
            _sqlite_copy(_sqlite_path(url), partial, source_must_exist=True)
        else:
            uri, env = libpq(url)
            done = subprocess.run(
                [_tool("pg_dump"), "--format=custom", "--no-password", f"--file={partial}",
                 f"--dbname={uri}"], env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
        os.replace(partial, final)
    finally:
        partial.unlink(missing_ok=True)
    return Result(final, final.stat().st_size, prune(directory, keep))


def _sqlite_copy(source: Path, target: Path, source_must_exist: bool) -> None:
    if source_must_exist and not source.is_file():
        raise BackupError(f"no SQLite database at {source}")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            # A copy of a WAL database is in WAL mode too: make it one self-contained file that
            # opening it (even read-only) does not grow -wal and -shm companions for.
            dst.execute("PRAGMA journal_mode=DELETE")
            if dst.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupError("the copy failed its integrity check")
        finally:
            dst.close()
    finally:
        src.close()


def backups(directory: str | Path) -> list[Path]:
    """This scheme's backup files in ``directory``, oldest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file() and NAME.match(p.name))


def prune(directory: str | Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups of this scheme; the deleted paths."""
    old = backups(directory)[:-keep] if keep > 0 else []
    for path in old:
        path.unlink(missing_ok=True)
    return old


# --- restore -----------------------------------------------------------------------------------

def tables_in(url: str | sa.URL) -> list[str]:
    """The tables of the database at ``url`` (an empty list: an empty database)."""
    url = sa.make_url(url)
    if _kind(url) == "sqlite":
        path = _sqlite_path(url)
        if not path.exists() or path.stat().st_size == 0:
            return []
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                return list(conn.execute(sa.text(
                    "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                    "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
                    "AND table_schema NOT LIKE 'pg_toast%' ORDER BY 1")).scalars())
            return list(conn.execute(sa.text(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name")).scalars())
    finally:
        engine.dispose()


def restore(url: str | sa.URL, file: str | Path) -> None:
    """Restore the backup ``file`` into the database at ``url``, which must be empty."""
    url = sa.make_url(url)
    kind = _kind(url)
    file = Path(file)
    if not file.is_file():
        raise BackupError(f"no backup file at {file}")
    with open(file, "rb") as fh:
        magic = fh.read(16)
    is_sqlite, is_dump = magic.startswith(b"SQLite format 3\0"), magic.startswith(b"PGDMP")
    if kind == "sqlite" and not is_sqlite:
        raise BackupError(f"{file.name} is not an SQLite backup (the database is SQLite)")
    if kind == "postgresql" and not is_dump:
        raise BackupError(f"{file.name} is not a pg_dump custom-format backup "
                          "(the database is PostgreSQL)")
    present = tables_in(url)
    if present:
        shown = ", ".join(present[:5]) + (" ..." if len(present) > 5 else "")
        raise BackupError(
            f"the database is not empty ({len(present)} tables: {shown}); restore only writes "
            "into an empty database. Create a new, empty database, point "
            "TIMEBANK_DATABASE_URL at it and run restore again.")
    if kind == "sqlite":
        if not _has_version_table(file):
            raise BackupError(f"{file.name} is not a timebank backup (no alembic_version table)")
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_copy(file, target, source_must_exist=True)
        return
    uri, env = libpq(url)
    done = subprocess.run(
        [_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
         "--single-transaction", "--no-password", f"--dbname={uri}", str(file)],
        env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed (nothing was restored): {done.stderr.strip()}")


def _has_version_table(file: Path) -> bool:
    conn = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'"
                            ).fetchone() is not None
    except sqlite3.DatabaseError:
        return False
    finally:
        conn.close()
