"""The database refuses edits of the ledger; edits made behind its back are found by verify."""
from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from timebank.ledger import operations as ledger
from timebank.ledger import tasks
from timebank.ledger import verification
from timebank.jobs.table import JobFailed


@pytest.fixture
def ledger_data(db, tree, member_of):
    m, m3 = member_of(tree.member), member_of(tree.member3)
    ledger.deposit(tree.staff, m, 90, source_type="service_record", source_id=1, reason="a")
    ledger.deposit(tree.staff3, m3, 60, source_type="service_record", source_id=2, reason="b")
    ledger.relay(tree.member, m, 30, to_member=m3, reason="c")
    ledger.redeem(tree.staff3, m3, 20, reason="d")
    db.session.commit()
    assert verification.verify() == []
    return m, m3


def _is_pg(db) -> bool:
    return db.engine.dialect.name == "postgresql"


@contextlib.contextmanager
def triggers_off(db, table):
    """Switch off the ledger's triggers on ``table`` (what an attacker with DDL rights does)."""
    if _is_pg(db):
        db.session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        db.session.commit()
        try:
            yield
        finally:
            db.session.rollback()
            db.session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
            db.session.commit()
    else:
        names = db.session.execute(text(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
            {"t": table}).scalars().all()
        for name in names:  # the database file belongs to this test alone
            db.session.execute(text(f"DROP TRIGGER {name}"))
        db.session.commit()
        yield


@pytest.mark.parametrize("statement", [
    "UPDATE ledger_postings SET amount = amount * 10",
    "DELETE FROM ledger_postings WHERE transaction_id = 1",
    "UPDATE ledger_transactions SET reason = 'edited'",
    "DELETE FROM ledger_transactions WHERE id = 4",
])
def test_update_and_delete_are_refused(db, ledger_data, statement):
    with pytest.raises(IntegrityError, match="append-only"):
        db.session.execute(text(statement))
        db.session.commit()
    db.session.rollback()
    assert verification.verify() == []


def test_an_unbalanced_transaction_cannot_be_committed(db, ledger_data):
    with pytest.raises(DBAPIError, match="does not balance"):
        db.session.execute(text(
            "INSERT INTO ledger_postings (transaction_id, account_id, amount, balance_after) "
            "VALUES (5, 1, 10, 10)"))
        db.session.execute(text(
            "INSERT INTO ledger_transactions (id, kind, created_at, reason, idempotency_key, "
            "service_minutes, prev_hash, hash) VALUES (5, 'relay', '2026-01-01 00:00:00', "
            "'', 'forged', 0, 'x', 'y')"))
        db.session.commit()
    db.session.rollback()
    assert verification.counts().transactions == 4


def test_postings_cannot_be_added_to_a_written_transaction(db, ledger_data):
    with pytest.raises(IntegrityError, match="already written"):
        db.session.execute(text(
            "INSERT INTO ledger_postings (transaction_id, account_id, amount, balance_after) "
            "VALUES (1, 1, 5, 0), (1, 2, -5, 0)"))
        db.session.commit()
    db.session.rollback()


def test_an_overdraft_is_refused_by_the_database(db, ledger_data, member_of, tree):
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE ledger_accounts SET balance_minutes = -1 "
                                "WHERE member_id = :m"), {"m": member_of(tree.member).id})
        db.session.commit()
    db.session.rollback()


def test_verify_finds_an_altered_posting(app, db, ledger_data):
    with triggers_off(db, "ledger_postings"):
        db.session.execute(text("UPDATE ledger_postings SET amount = 900 "
                                "WHERE transaction_id = 1 AND amount = 90"))
        db.session.commit()
        problems = verification.verify()
        codes = {p.code for p in problems}
        assert {"unbalanced", "hash_mismatch", "balance_mismatch", "running_balance",
                "global_unbalanced"} <= codes
        assert {p.transaction_id for p in problems if p.code == "hash_mismatch"} == {1}

        result = app.test_cli_runner().invoke(args=["ledger", "verify"])
        assert result.exit_code == 1
        assert "FAILED" in result.output and "Broken transactions: 1" in result.output
        assert "[hash_mismatch] transaction 1" in result.output


def test_verify_finds_a_rewritten_reason_even_with_a_new_hash(db, ledger_data):
    from timebank.ledger.hashing import transaction_hash
    from timebank.ledger.models import Transaction

    tx = db.session.get(Transaction, 2)
    forged = transaction_hash(
        id=tx.id, kind=tx.kind, created_at=tx.created_at, actor_id=tx.actor_id, reason="forged",
        source_type=tx.source_type, source_id=tx.source_id, idempotency_key=tx.idempotency_key,
        reverses_id=None, beneficiary_id=None, service_account_id=tx.service_account_id,
        service_minutes=tx.service_minutes,
        postings=[(p.account_id, p.amount) for p in tx.postings], prev_hash=tx.prev_hash)
    with triggers_off(db, "ledger_transactions"):
        db.session.execute(text("UPDATE ledger_transactions SET reason = 'forged', hash = :h "
                                "WHERE id = 2"), {"h": forged})
        db.session.commit()
        problems = verification.verify()
    # Transaction 2 now hashes correctly, but the next one no longer links to it (and the
    # switched-off triggers are reported as such).
    assert [(p.code, p.transaction_id) for p in problems
            if not p.code.startswith("trigger_")] == [("chain_broken", 3)]
    assert {p.code for p in problems if p.code.startswith("trigger_")}


@pytest.mark.parametrize(("tx_id", "expected"), [
    (2, {"chain_gap", "chain_broken", "balance_mismatch", "service_mismatch"}),
    # The newest: the chain is merely shorter, but the cached balances still count it.
    (4, {"balance_mismatch"}),
])
def test_verify_finds_a_deleted_transaction(db, ledger_data, tx_id, expected):
    with triggers_off(db, "ledger_postings"), triggers_off(db, "ledger_transactions"):
        db.session.execute(text("DELETE FROM ledger_postings WHERE transaction_id = :t"),
                           {"t": tx_id})
        db.session.execute(text("DELETE FROM ledger_transactions WHERE id = :t"), {"t": tx_id})
        db.session.commit()
        codes = {p.code for p in verification.verify()}
    assert expected <= codes


def test_verify_finds_a_changed_cached_balance(db, ledger_data, member_of, tree):
    db.session.execute(text("UPDATE ledger_accounts SET balance_minutes = 500, "
                            "service_minutes = 1 WHERE member_id = :m"),
                       {"m": member_of(tree.member).id})
    db.session.commit()
    codes = {p.code for p in verification.verify()}
    assert {"balance_mismatch", "service_mismatch", "global_balances"} <= codes


def test_cli_verify_passes_on_a_sound_ledger(app, ledger_data):
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert "Ledger OK: 4 transactions, 8 postings" in result.output


def test_nightly_job_alerts_district_admins_once_a_day(db, ledger_data, tree):
    from sqlalchemy import select

    from timebank.inbox.models import Message

    assert "all checks hold" in tasks.verify_ledger()
    db.session.execute(text("UPDATE ledger_accounts SET balance_minutes = balance_minutes + 5 "
                            "WHERE kind = 'pool' OR member_id IS NOT NULL"))
    db.session.commit()
    with pytest.raises(JobFailed) as failed:
        tasks.verify_ledger()
    assert "FAILED" in str(failed.value) and "1 district admins alerted" in str(failed.value)
    with pytest.raises(JobFailed):
        tasks.verify_ledger()
    db.session.commit()
    messages = db.session.execute(select(Message)).scalars().all()
    assert [m.recipient_id for m in messages] == [tree.district_admin.id]
    assert "balance_mismatch" in messages[0].body


def test_nightly_run_is_recorded_failed_and_keeps_its_alerts(db, ledger_data, tree):
    """Through the scheduler: the run's outcome is "failed" (not "ok" with FAILED in the
    summary) and the district admins' alert is committed with it."""
    import datetime as dt

    from sqlalchemy import select

    from timebank.jobs import runner, table
    from timebank.core import clock
    from timebank.inbox.models import Message
    from timebank.jobs.models import JobRun

    db.session.execute(text("UPDATE ledger_accounts SET balance_minutes = balance_minutes + 5 "
                            "WHERE kind = 'pool' OR member_id IS NOT NULL"))
    db.session.commit()
    job = table.get_job("ledger.verify")
    outcome = runner.execute(job, clock.now().replace(microsecond=0) - dt.timedelta(hours=1))
    assert outcome.outcome == "failed" and "FAILED" in outcome.summary
    db.session.rollback()
    run = db.session.execute(select(JobRun)).scalar_one()
    assert run.outcome == "failed" and "district admins alerted" in run.error
    assert db.session.execute(select(Message.recipient_id)).scalars().all() == [
        tree.district_admin.id]


@pytest.mark.postgres
@pytest.mark.parametrize("statement", [
    "TRUNCATE ledger_postings, ledger_transactions CASCADE",
    "TRUNCATE ledger_postings",
    "TRUNCATE ledger_transactions CASCADE",
])
def test_truncate_is_refused_on_postgres(db, ledger_data, statement):
    """Row triggers do not fire on TRUNCATE; statement-level ones (migration 0009c) do."""
    with pytest.raises(IntegrityError, match="append-only"):
        db.session.execute(text(statement))
        db.session.commit()
    db.session.rollback()
    assert verification.counts().transactions == 4
    assert verification.verify() == []
