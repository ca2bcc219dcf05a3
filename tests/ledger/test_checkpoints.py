"""A ledger cut back behind the app's back is found: signed checkpoints kept outside the database,
service records and recognition totals checked against the ledger, and the triggers in place."""
from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import json
import os
import socket
import stat
import threading

import pytest
from sqlalchemy import select, text

from timebank.core import clock
from timebank.ledger import checkpoints, tasks
from timebank.ledger import verification
from timebank.ledger import operations as ledger

FIX_CACHES = [
    "UPDATE ledger_accounts SET balance_minutes = COALESCE((SELECT SUM(amount) "
    "FROM ledger_postings p WHERE p.account_id = ledger_accounts.id), 0), "
    "service_minutes = COALESCE((SELECT SUM(service_minutes) FROM ledger_transactions t "
    "WHERE t.service_account_id = ledger_accounts.id), 0)",
]


def _is_pg(db) -> bool:
    return db.engine.dialect.name == "postgresql"


def behind_the_apps_back(db, *statements) -> None:
    """Run ``statements`` with no trigger and no foreign key in the way (what the table owner
    or a superuser can do), leaving the triggers as they were."""
    db.session.commit()
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        if _is_pg(db):
            cur.execute("SET session_replication_role = replica")
            for statement in statements:
                cur.execute(statement)
            cur.execute("SET session_replication_role = origin")
            raw.commit()
        else:  # autocommit connection (see core.db); this test's database file alone
            cur.execute("PRAGMA foreign_keys = OFF")
            triggers = cur.execute("SELECT name, sql FROM sqlite_master "
                                   "WHERE type = 'trigger'").fetchall()
            for name, _sql in triggers:
                cur.execute(f"DROP TRIGGER {name}")
            for statement in statements:
                cur.execute(statement)
            for _name, sql in triggers:
                cur.execute(sql)
            cur.execute("PRAGMA foreign_keys = ON")
        cur.close()
    finally:
        raw.close()
    db.session.expire_all()


def cut_tail(db, n: int) -> None:
    """Delete the newest ``n`` transactions with their postings and fix the cached balances."""
    last = db.session.execute(text("SELECT MAX(id) FROM ledger_transactions")).scalar_one()
    first = last - n + 1
    behind_the_apps_back(
        db, f"DELETE FROM ledger_postings WHERE transaction_id >= {first}",
        f"DELETE FROM ledger_transactions WHERE id >= {first}", *FIX_CACHES)


@pytest.fixture
def relays(db, tree, member_of):
    """Five transactions, none tied to a service record; the ledger verifies."""
    m, m3 = member_of(tree.member), member_of(tree.member3)
    ledger.deposit(tree.staff, m, 300, source_type="grant", source_id=1, reason="a")
    for i in range(4):
        ledger.relay(tree.member, m, 10 + i, to_member=m3, reason=f"r{i}")
    db.session.commit()
    assert verification.verify() == []
    return m, m3


@pytest.fixture
def served(db, tree, member_of):
    """Six verified service reports of ``tree.member``, each deposited."""
    from timebank.posts import operations as posts

    member = member_of(tree.member)
    records = []
    for i in range(6):
        day = clock.today() - dt.timedelta(days=i + 1)
        record = posts.report_service(
            tree.member, member, started_at=clock.local_datetime(day, dt.time(9)),
            ended_at=clock.local_datetime(day, dt.time(10)), description="陪老人就医")
        db.session.commit()
        assert posts.verify(tree.staff, record, acknowledge_flags=True) is True
        db.session.commit()
        records.append(record.id)
    assert verification.verify() == []
    return records


def codes(problems) -> set[str]:
    return {p.code for p in problems}


# --- checkpoints -------------------------------------------------------------------------------

def test_nightly_job_writes_one_signed_checkpoint(app, db, relays):
    summary = tasks.verify_ledger()
    assert "checkpoint 5 transactions, head 5:" in summary
    assert "unchanged" in tasks.verify_ledger()  # idempotent: a second run writes nothing
    lines = checkpoints.path().read_text().splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert (data["transactions"], data["head_id"]) == (5, 5)
    assert data["sig"] == checkpoints.sign({k: v for k, v in data.items() if k != "sig"})
    # The key lives in the instance folder, readable by its owner only.
    key_file = os.path.join(app.config["INSTANCE_PATH"], "ledger_checkpoint_key")
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert verification.verify() == []


def test_a_cut_off_tail_is_found_by_the_checkpoint(app, db, relays):
    tasks.verify_ledger()
    cut_tail(db, 2)
    problems = verification.verify()
    # Without the checkpoint the shorter chain is sound in itself.
    assert codes(problems) == {"chain_truncated"}
    assert [p.transaction_id for p in problems] == [5]

    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 1 and "[chain_truncated]" in result.output
    # No new checkpoint may anchor the cut chain.
    result = app.test_cli_runner().invoke(args=["ledger", "checkpoint"])
    assert result.exit_code == 1 and "no checkpoint written" in result.output
    assert len(checkpoints.path().read_text().splitlines()) == 1


def test_a_rebuilt_tail_of_the_same_length_is_found(db, tree, relays):
    m, m3 = relays
    tasks.verify_ledger()
    cut_tail(db, 2)
    for i in range(2):  # new entries in place of the cut ones: same count, other head hash
        ledger.relay(tree.member, m, 1, to_member=m3, reason=f"again {i}")
    db.session.commit()
    problems = verification.verify()
    assert codes(problems) == {"checkpoint_mismatch"}
    assert [p.transaction_id for p in problems] == [5]


def test_a_forged_or_damaged_checkpoint_line_is_reported(db, relays):
    tasks.verify_ledger()
    payload = checkpoints.current(db.session.connection()).payload()
    db.session.rollback()
    forged = {**payload, "transactions": 3, "head_id": 3}
    with checkpoints.path().open("a") as fh:
        fh.write(json.dumps({**forged, "sig": checkpoints.sign(forged, "another key")}) + "\n")
        fh.write(json.dumps({**forged, "sig": "0" * 64}) + "\n")
        fh.write("{not json\n")
    problems = verification.verify()
    assert sorted(p.code for p in problems) == [
        "checkpoint_forged", "checkpoint_forged", "checkpoint_unreadable"]
    assert "line 2" in str(problems[0]) and "line 4" in str(problems[2])


def test_cli_checkpoint_writes_a_line(app, relays):
    result = app.test_cli_runner().invoke(args=["ledger", "checkpoint"])
    assert result.exit_code == 0, result.output
    assert "checkpoint 5 transactions, head 5:" in result.output
    assert json.loads(checkpoints.path().read_text())["head_id"] == 5


class _Witness(http.server.BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self):  # noqa: N802
        self.received.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_the_checkpoint_goes_to_the_witness(app, relays):
    server = http.server.HTTPServer(("127.0.0.1", 0), _Witness)
    thread = threading.Thread(target=server.handle_request, daemon=True)  # one request only
    thread.start()
    app.config["TIMEBANK_LEDGER_WITNESS_URL"] = f"http://127.0.0.1:{server.server_port}/cp"
    try:
        summary = tasks.verify_ledger()
    finally:
        thread.join(timeout=30)
        server.server_close()
    assert "witness ok (HTTP 204)" in summary
    assert _Witness.received[-1].decode() == checkpoints.path().read_text().strip()


def test_a_failing_witness_is_recorded_and_the_checkpoint_kept(app, relays):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app.config["TIMEBANK_LEDGER_WITNESS_URL"] = f"http://127.0.0.1:{port}/cp"
    summary = tasks.verify_ledger()
    assert "witness failed" in summary
    assert len(checkpoints.path().read_text().splitlines()) == 1


# --- service records and recognition totals ------------------------------------------------------

def test_service_records_pointing_at_a_cut_tail_are_reported(app, db, served):
    """The attack run: the newest deposits cut off, balances fixed, no checkpoint written."""
    cut_tail(db, 4)
    problems = verification.verify()
    missing = [p for p in problems if p.code == "record_transaction_missing"]
    assert sorted(p.transaction_id for p in missing) == [3, 4, 5, 6]
    assert all(f"service record {r}" in " ".join(map(str, missing)) for r in served[2:])
    assert "recognition_totals_mismatch" in codes(problems)
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 1 and "Ledger OK" not in result.output


def test_a_service_record_naming_another_deposit_is_reported(db, served):
    from timebank.posts.models import ServiceRecord

    first, second = served[0], served[1]
    tx_of_second = db.session.get(ServiceRecord, second).transaction_id
    behind_the_apps_back(db, f"UPDATE service_records SET transaction_id = {tx_of_second} "
                             f"WHERE id = {first}")
    problems = [p for p in verification.verify() if p.code == "record_transaction_mismatch"]
    assert [p.transaction_id for p in problems] == [tx_of_second]


def test_service_record_minutes_raised_behind_the_ledger_are_reported(db, served):
    behind_the_apps_back(db, f"UPDATE service_records SET minutes = 600 WHERE id = {served[0]}")
    assert codes(verification.verify()) == {"record_transaction_mismatch"}


def test_changed_recognition_totals_are_reported(db, served):
    behind_the_apps_back(db, "UPDATE recognition_service_totals SET minutes = minutes + 60")
    problems = verification.verify()
    assert codes(problems) == {"recognition_totals_mismatch"}


# --- triggers ----------------------------------------------------------------------------------

@contextlib.contextmanager
def trigger_dropped(db, name):
    """Drop one trigger; put it back afterwards (on PostgreSQL the database outlives the test)."""
    if _is_pg(db):
        table, definition = db.session.execute(text(
            "SELECT c.relname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname = :n"), {"n": name}).one()
        db.session.execute(text(f"DROP TRIGGER {name} ON {table}"))
        db.session.commit()
        try:
            yield
        finally:
            db.session.rollback()
            db.session.execute(text(definition))
            db.session.commit()
    else:
        db.session.execute(text(f"DROP TRIGGER {name}"))
        db.session.commit()
        yield


@pytest.mark.parametrize("name", ["append_only", "no_truncate", "recognition_totals"])
def test_a_missing_trigger_is_reported(db, relays, name):
    if _is_pg(db):
        trigger = {"append_only": "ledger_postings_append_only",
                   "no_truncate": "ledger_transactions_no_truncate",
                   "recognition_totals": "ledger_transactions_recognition_totals"}[name]
    else:
        if name == "no_truncate":
            pytest.skip("SQLite has no TRUNCATE")
        trigger = {"append_only": "ledger_postings_no_delete",
                   "recognition_totals": "ledger_transactions_recognition_totals"}[name]
    with trigger_dropped(db, trigger):
        problems = verification.verify()
    assert [(p.code, trigger in p.message) for p in problems] == [("trigger_missing", True)]


@pytest.mark.postgres
def test_a_disabled_trigger_is_reported(db, relays):
    db.session.execute(text("ALTER TABLE ledger_transactions DISABLE TRIGGER "
                            "ledger_transactions_append_only"))
    db.session.commit()
    try:
        problems = verification.verify()
    finally:
        db.session.execute(text("ALTER TABLE ledger_transactions ENABLE TRIGGER "
                                "ledger_transactions_append_only"))
        db.session.commit()
    assert [p.code for p in problems] == ["trigger_disabled"]


def test_a_sound_ledger_with_records_verifies(db, served):
    from timebank.posts.models import ServiceRecord

    assert db.session.execute(select(ServiceRecord.transaction_id)
                              .order_by(ServiceRecord.id)).scalars().all() == [1, 2, 3, 4, 5, 6]
    assert verification.verify() == []
