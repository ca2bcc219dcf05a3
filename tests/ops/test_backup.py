"""Backup and restore: a backup restored into a fresh database verifies and has every balance
and the chain head of the original; retention; restore refuses a database that is not empty."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from timebank import create_app
from timebank.config import TestConfig
from timebank.ops import backup


@pytest.fixture
def ledger_history(db, tree, member_of, make_member):
    """Deposits (one by one and in bulk), a redemption and a reversal, then a checkpoint."""
    from timebank.ledger import checkpoints
    from timebank.ledger import operations as ledger

    m, m3 = member_of(tree.member), member_of(tree.member3)
    others = [make_member() for _ in range(3)]
    ledger.deposit(tree.staff, m, 120, source_type="service_record", source_id=1,
                           reason="助老送餐")
    second = ledger.deposit(tree.staff3, m3, 45, source_type="service_record", source_id=2,
                            reason="")
    ledger.deposit_many(tree.staff, [ledger.DepositItem(o, 30 + i, "service_record", 10 + i)
                                     for i, o in enumerate(others)])
    db.session.commit()
    ledger.redeem(tree.staff, m, 60, reason="理发")
    ledger.reverse(tree.staff3, second, "录入错误")
    db.session.commit()
    checkpoints.write(db.session.connection())
    db.session.commit()


def _state(url: str) -> dict:
    """Every balance, the chain head and the row counts of the ledger at ``url``."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                "balances": conn.execute(sa.text(
                    "SELECT id, kind, member_id, org_id, balance_minutes, service_minutes "
                    "FROM ledger_accounts ORDER BY id")).all(),
                "head": conn.execute(sa.text(
                    "SELECT id, hash FROM ledger_transactions ORDER BY id DESC LIMIT 1")).first(),
                "transactions": conn.execute(sa.text(
                    "SELECT count(*) FROM ledger_transactions")).scalar(),
                "postings": conn.execute(sa.text("SELECT count(*) FROM ledger_postings")).scalar(),
                "users": conn.execute(sa.text("SELECT count(*) FROM users")).scalar(),
            }
    finally:
        engine.dispose()


@pytest.fixture
def fresh_url(database, tmp_path):
    """URL of a database that does not exist yet (SQLite) or is empty (PostgreSQL)."""
    if database.kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored' / 'timebank.sqlite3'}"
        return
    url = sa.make_url(database.url)
    url = url.set(database=f"{url.database}_restored")
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()


def _pg_tools_usable() -> str | None:
    """Why pg_dump cannot serve this server, or None."""
    import shutil
    import subprocess

    if shutil.which("pg_dump") is None:
        return "pg_dump is not installed"
    client = subprocess.run(["pg_dump", "--version"], capture_output=True, text=True).stdout
    major = int(client.split()[-1].split(".")[0]) if client else 0
    import os

    engine = sa.create_engine(sa.make_url(os.environ["TIMEBANK_TEST_DATABASE_URL"])
                              .set(database="postgres"))
    with engine.connect() as conn:
        server = int(conn.execute(sa.text("SHOW server_version_num")).scalar()) // 10000
    engine.dispose()
    if major < server:
        return f"pg_dump {major} is older than the server ({server}); install postgresql-client-{server}"
    return None


def test_backup_restores_into_a_fresh_database_that_verifies(app, db, database, ledger_history,
                                                            fresh_url, tmp_path):
    if database.kind == "postgresql" and (reason := _pg_tools_usable()):
        pytest.skip(reason)
    from timebank.ledger import verification

    original = _state(str(db.engine.url.render_as_string(hide_password=False)))
    result = backup.backup(db.engine.url, tmp_path / "backups", keep=3)
    assert result.path.exists() and result.size > 0
    assert backup.NAME.match(result.path.name)
    assert list((tmp_path / "backups").glob("*.part")) == []

    backup.restore(fresh_url, result.path)
    # Reading the backup left nothing beside it (no -wal or -shm of a WAL-mode copy).
    assert [p.name for p in (tmp_path / "backups").iterdir()] == [result.path.name]
    restored = _state(fresh_url)
    assert restored == original
    assert original["transactions"] == 7 and original["head"] is not None

    # The restored database, with the same instance files (keys, checkpoints), verifies clean:
    # sums, balances, the hash chain and the checkpoint written before the backup.
    other = create_app(TestConfig(fresh_url, str(database.instance)))
    other.config["TIMEBANK_LEDGER_CHECKPOINT_FILE"] = app.config[
        "TIMEBANK_LEDGER_CHECKPOINT_FILE"]
    with other.app_context():
        from timebank.extensions import db as other_db

        try:
            assert verification.verify() == []
            assert verification.chain_tip() == tuple(original["head"])
        finally:
            other_db.session.remove()
            other_db.engine.dispose()


def test_restore_refuses_a_database_that_is_not_empty(app, db, database, tree, tmp_path):
    if database.kind == "postgresql" and (reason := _pg_tools_usable()):
        pytest.skip(reason)
    result = backup.backup(db.engine.url, tmp_path / "b", keep=1)
    users_before = _state(db.engine.url.render_as_string(hide_password=False))["users"]
    with pytest.raises(backup.BackupError, match="not empty"):
        backup.restore(db.engine.url, result.path)
    # And through the command: a clear message, a failing exit status, nothing written.
    out = app.test_cli_runner().invoke(args=["restore", str(result.path)])
    assert out.exit_code == 2
    assert "not empty" in out.output and "empty database" in out.output
    assert _state(db.engine.url.render_as_string(hide_password=False))["users"] == users_before


def test_restore_refuses_a_file_that_is_not_a_backup_of_this_kind(db, fresh_url, tmp_path):
    junk = tmp_path / "notes.sqlite3"
    junk.write_bytes(b"not a database at all")
    with pytest.raises(backup.BackupError, match="is not"):
        backup.restore(fresh_url, junk)
    with pytest.raises(backup.BackupError, match="no backup file"):
        backup.restore(fresh_url, tmp_path / "missing.pgdump")
    assert backup.tables_in(fresh_url) == []


def test_retention_keeps_the_newest_and_touches_nothing_else(db, database, tmp_path):
    if database.kind == "postgresql" and (reason := _pg_tools_usable()):
        pytest.skip(reason)
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    (folder / "timebank-manual.sqlite3").write_text("a copy made by hand")
    made = [backup.backup(db.engine.url, folder, keep=2) for _ in range(4)]
    left = backup.backups(folder)
    assert left == [made[2].path, made[3].path]
    assert [p.name for p in made[3].removed] == [made[1].path.name]
    assert (folder / "notes.txt").exists() and (folder / "timebank-manual.sqlite3").exists()
    with pytest.raises(backup.BackupError):
        backup.backup(db.engine.url, folder, keep=0)


def test_backup_command_and_nightly_job(app, db, database, tmp_path):
    if database.kind == "postgresql" and (reason := _pg_tools_usable()):
        pytest.skip(reason)
    from timebank.core import clock
    from timebank.jobs import runner, table

    out = app.test_cli_runner().invoke(args=["backup", "--dir", str(tmp_path / "cli"),
                                             "--keep", "1"])
    assert out.exit_code == 0, out.output
    assert len(backup.backups(tmp_path / "cli")) == 1
    bad = app.test_cli_runner().invoke(args=["backup", "--dir", str(tmp_path / "cli"),
                                             "--keep", "0"])
    assert bad.exit_code == 2

    app.config["TIMEBANK_BACKUP_DIR"] = str(tmp_path / "nightly")
    job = table.get_job("ops.backup")
    outcome = runner.execute(job, table.latest_fire_time(job, clock.now()))
    assert outcome.outcome == "ok", outcome.summary
    assert len(backup.backups(tmp_path / "nightly")) == 1
    assert outcome.summary.startswith("backup timebank-")


def test_a_failed_backup_leaves_no_file(tmp_path):
    folder = tmp_path / "b"
    with pytest.raises(backup.BackupError, match="no SQLite database"):
        backup.backup(f"sqlite:///{tmp_path / 'absent.sqlite3'}", folder, keep=2)
    assert list(folder.iterdir()) == []
    with pytest.raises(backup.BackupError):
        backup.backup("postgresql+psycopg://nobody:secret@127.0.0.1:1/none", folder, keep=2)
    assert list(folder.iterdir()) == []
