"""``timebank ledger verify``: the checks that the ledger is whole (sums, cached balances, the hash
chain, signed checkpoints, the append-only triggers, and what other features subscribe to check
through ``core.signals.ledger_verifying``)."""

from __future__ import annotations

import dataclasses

from sqlalchemy import func, select

from timebank.core import signals
from timebank.core.db import read_only
from timebank.extensions import db
from timebank.ledger import checkpoints
from timebank.ledger.hashing import GENESIS_HASH, transaction_hash
from timebank.ledger.models import (ACCOUNTS, POSTINGS, TRANSACTIONS, AccountKind,
                                    Beneficiary, TxKind)


@dataclasses.dataclass(frozen=True)
class Problem:
    code: str
    message: str
    transaction_id: int | None = None
    account_id: int | None = None

    def __str__(self) -> str:
        where = []
        if self.transaction_id is not None:
            where.append(f"transaction {self.transaction_id}")
        if self.account_id is not None:
            where.append(f"account {self.account_id}")
        return f"[{self.code}] {', '.join(where) + ': ' if where else ''}{self.message}"


@dataclasses.dataclass
class Counts:
    transactions: int
    postings: int
    accounts: int


def chain_tip() -> tuple[int, str]:
    """(id, hash) of the newest transaction, (0, genesis hash) for an empty ledger."""
    row = db.session.execute(select(TRANSACTIONS.c.id, TRANSACTIONS.c.hash)
                             .order_by(TRANSACTIONS.c.id.desc()).limit(1)).first()
    return (row.id, row.hash) if row else (0, GENESIS_HASH)


def counts() -> Counts:
    def n(table) -> int:
        return int(db.session.execute(select(func.count()).select_from(table)).scalar_one())

    return Counts(n(TRANSACTIONS), n(POSTINGS), n(ACCOUNTS))


def _check_sums(conn, problems: list[Problem]) -> None:
    for tx_id, total, n in conn.execute(
            select(POSTINGS.c.transaction_id, func.sum(POSTINGS.c.amount), func.count())
            .group_by(POSTINGS.c.transaction_id)
            .having((func.sum(POSTINGS.c.amount) != 0) | (func.count() < 2))):
        problems.append(Problem("unbalanced", f"{n} postings sum to {total} minutes, not 0",
                                transaction_id=tx_id))
    for (tx_id,) in conn.execute(
            select(TRANSACTIONS.c.id).where(~select(POSTINGS.c.id).where(
                POSTINGS.c.transaction_id == TRANSACTIONS.c.id).exists())):
        problems.append(Problem("no_postings", "has no postings", transaction_id=tx_id))
    for (tx_id,) in conn.execute(
            select(POSTINGS.c.transaction_id.distinct()).where(~select(TRANSACTIONS.c.id).where(
                TRANSACTIONS.c.id == POSTINGS.c.transaction_id).exists())):
        problems.append(Problem("orphan_postings", "postings name a transaction that does not "
                                "exist", transaction_id=tx_id))
    total = conn.execute(select(func.coalesce(func.sum(POSTINGS.c.amount), 0))).scalar()
    if total != 0:
        problems.append(Problem("global_unbalanced", f"all postings sum to {total} minutes"))
    total = conn.execute(
        select(func.coalesce(func.sum(ACCOUNTS.c.balance_minutes), 0))).scalar()
    if total != 0:
        problems.append(Problem("global_balances", f"all account balances sum to {total}"))


def _check_balances(conn, problems: list[Problem]) -> None:
    sums = (select(POSTINGS.c.account_id, func.sum(POSTINGS.c.amount).label("total"))
            .group_by(POSTINGS.c.account_id).subquery())
    for acct_id, stored, total in conn.execute(
            select(ACCOUNTS.c.id, ACCOUNTS.c.balance_minutes, func.coalesce(sums.c.total, 0))
            .outerjoin(sums, sums.c.account_id == ACCOUNTS.c.id)
            .where(ACCOUNTS.c.balance_minutes != func.coalesce(sums.c.total, 0))):
        problems.append(Problem("balance_mismatch", f"stored balance {stored}, postings sum to "
                                f"{total}", account_id=acct_id))
    service = (select(TRANSACTIONS.c.service_account_id.label("account_id"),
                      func.sum(TRANSACTIONS.c.service_minutes).label("total"))
               .where(TRANSACTIONS.c.service_account_id.is_not(None))
               .group_by(TRANSACTIONS.c.service_account_id).subquery())
    for acct_id, stored, total in conn.execute(
            select(ACCOUNTS.c.id, ACCOUNTS.c.service_minutes, func.coalesce(service.c.total, 0))
            .outerjoin(service, service.c.account_id == ACCOUNTS.c.id)
            .where(ACCOUNTS.c.service_minutes != func.coalesce(service.c.total, 0))):
        problems.append(Problem("service_mismatch", f"stored service minutes {stored}, "
                                f"transactions sum to {total}", account_id=acct_id))
    for acct_id, balance in conn.execute(
            select(ACCOUNTS.c.id, ACCOUNTS.c.balance_minutes)
            .where(ACCOUNTS.c.allow_negative.is_(False), ACCOUNTS.c.balance_minutes < 0)):
        problems.append(Problem("overdrawn", f"balance {balance} below zero",
                                account_id=acct_id))
    # balance_after must be the running sum of the account's postings in id order.
    running = (select(POSTINGS.c.id, POSTINGS.c.transaction_id, POSTINGS.c.account_id,
                      POSTINGS.c.balance_after,
                      func.sum(POSTINGS.c.amount).over(partition_by=POSTINGS.c.account_id,
                                                       order_by=POSTINGS.c.id).label("running"))
               .subquery())
    for posting_id, tx_id, acct_id, after, run in conn.execute(
            select(running.c.id, running.c.transaction_id, running.c.account_id,
                   running.c.balance_after, running.c.running)
            .where(running.c.balance_after != running.c.running).order_by(running.c.id)):
        problems.append(Problem("running_balance", f"posting {posting_id} says the balance was "
                                f"{after} after it, the postings before sum to {run}",
                                transaction_id=tx_id, account_id=acct_id))
    for posting_id, tx_id, acct_id, after in conn.execute(
            select(POSTINGS.c.id, POSTINGS.c.transaction_id, POSTINGS.c.account_id,
                   POSTINGS.c.balance_after)
            .join(ACCOUNTS, ACCOUNTS.c.id == POSTINGS.c.account_id)
            .where(ACCOUNTS.c.allow_negative.is_(False), POSTINGS.c.balance_after < 0)):
        problems.append(Problem("overdrawn", f"posting {posting_id} took the balance to {after}",
                                transaction_id=tx_id, account_id=acct_id))


def _shape_problem(tx, legs: list[tuple[int, int]], kinds: dict[int, str],
                   beneficiary_owner: dict[int, int], member_of: dict[int, int]) -> str | None:
    """What is wrong with a transaction's form for its kind, or None."""
    out = [(kinds.get(a), m) for a, m in legs if m < 0]
    into = [(kinds.get(a), m) for a, m in legs if m > 0]
    if tx.kind == TxKind.DEPOSIT:
        if tx.source_type is None or tx.source_id is None:
            return "deposit without a source"
        if tx.idempotency_key != f"deposit:{tx.source_type}:{tx.source_id}":
            return "deposit key does not name its source"
        if [k for k, _ in out] != [AccountKind.ISSUANCE]:
            return "deposit not drawn from the issuance account"
        if any(k not in (AccountKind.MEMBER, AccountKind.POOL) for k, _ in into):
            return "deposit credits a system account"
        if (tx.service_minutes != -out[0][1]
                or kinds.get(tx.service_account_id) != AccountKind.MEMBER):
            return "deposit's service minutes differ from its amount"
    elif tx.kind == TxKind.REDEMPTION:
        if len(out) != 1 or out[0][0] != AccountKind.MEMBER or len(into) != 1 \
                or into[0][0] != AccountKind.REDEMPTION:
            return "redemption must move minutes from a member to the redemption account"
        if tx.beneficiary_id is not None:
            payer = next(a for a, m in legs if m < 0)
            if beneficiary_owner.get(tx.beneficiary_id) != member_of.get(payer):
                return "the beneficiary is not registered by the paying member"
    elif tx.kind == TxKind.RELAY:
        if len(out) != 1 or out[0][0] != AccountKind.MEMBER:
            return "relay must come from one member account"
        if any(k not in (AccountKind.MEMBER, AccountKind.POOL) for k, _ in into):
            return "relay credits a system account"
    if tx.kind != TxKind.DEPOSIT and tx.kind != TxKind.REVERSAL and tx.service_minutes:
        return "only deposits and their reversals change service minutes"
    return None


def _check_chain(conn, problems: list[Problem]) -> None:
    kinds = dict(conn.execute(select(ACCOUNTS.c.id, ACCOUNTS.c.kind)).all())
    member_of = dict(conn.execute(
        select(ACCOUNTS.c.id, ACCOUNTS.c.member_id)
        .where(ACCOUNTS.c.member_id.is_not(None))).all())
    beneficiary_owner = dict(conn.execute(
        select(Beneficiary.id, Beneficiary.member_id)).all())
    reversed_ids = set(conn.execute(
        select(TRANSACTIONS.c.reverses_id).where(TRANSACTIONS.c.reverses_id.is_not(None)))
        .scalars())
    originals: dict[int, tuple] = {}  # only those a reversal refers to

    postings = iter(conn.execute(
        select(POSTINGS.c.transaction_id, POSTINGS.c.account_id, POSTINGS.c.amount)
        .order_by(POSTINGS.c.transaction_id, POSTINGS.c.id).execution_options(yield_per=5000)))
    pending = next(postings, None)
    expected_id, prev_hash = 1, GENESIS_HASH
    for tx in conn.execute(select(TRANSACTIONS).order_by(TRANSACTIONS.c.id)
                           .execution_options(yield_per=5000)):
        legs = []
        while pending is not None and pending.transaction_id < tx.id:
            pending = next(postings, None)  # orphans are reported by _check_sums
        while pending is not None and pending.transaction_id == tx.id:
            legs.append((pending.account_id, int(pending.amount)))
            pending = next(postings, None)
        if tx.id != expected_id:
            problems.append(Problem("chain_gap", f"expected transaction {expected_id} next in "
                                    f"the chain, found {tx.id}", transaction_id=tx.id))
        if tx.prev_hash != prev_hash:
            problems.append(Problem("chain_broken", "prev_hash does not match the hash of the "
                                    "transaction before it", transaction_id=tx.id))
        computed = transaction_hash(
            id=tx.id, kind=tx.kind, created_at=tx.created_at, actor_id=tx.actor_id,
            reason=tx.reason, source_type=tx.source_type, source_id=tx.source_id,
            idempotency_key=tx.idempotency_key, reverses_id=tx.reverses_id,
            beneficiary_id=tx.beneficiary_id, service_account_id=tx.service_account_id,
            service_minutes=int(tx.service_minutes), postings=legs, prev_hash=tx.prev_hash)
        if computed != tx.hash:
            problems.append(Problem("hash_mismatch", "content does not match its hash (altered "
                                    "after it was written)", transaction_id=tx.id))
        shape = _shape_problem(tx, legs, kinds, beneficiary_owner, member_of)
        if shape:
            problems.append(Problem("bad_reference", shape, transaction_id=tx.id))
        if tx.id in reversed_ids:
            originals[tx.id] = (sorted(legs), tx.service_account_id, int(tx.service_minutes),
                                tx.kind)
        if tx.kind == TxKind.REVERSAL:
            original = originals.get(tx.reverses_id)
            if original is None:
                problems.append(Problem("bad_reversal", f"reverses transaction {tx.reverses_id}, "
                                        "which does not come before it", transaction_id=tx.id))
            elif original[3] == TxKind.REVERSAL:
                problems.append(Problem("bad_reversal", "reverses a reversal",
                                        transaction_id=tx.id))
            elif (sorted((a, -m) for a, m in legs) != original[0]
                  or int(tx.service_minutes) != -original[2]
                  or (original[2] and tx.service_account_id != original[1])):
                problems.append(Problem("bad_reversal", f"does not exactly negate transaction "
                                        f"{tx.reverses_id}", transaction_id=tx.id))
        expected_id, prev_hash = tx.id + 1, tx.hash


#: The triggers that make the ledger append-only and balanced (migrations 0003 and 0009c).
LEDGER_TRIGGERS = {
    "sqlite": frozenset({
        "ledger_transactions_no_update", "ledger_transactions_no_delete",
        "ledger_postings_no_update", "ledger_postings_no_delete",
        "ledger_transactions_balanced", "ledger_postings_closed"}),
    "postgresql": frozenset({
        "ledger_transactions_append_only", "ledger_postings_append_only",
        "ledger_transactions_no_truncate", "ledger_postings_no_truncate",
        "ck_ledger_postings_balanced", "ck_ledger_transactions_balanced",
        "ledger_postings_closed"}),
}


def check_triggers(conn, expected, problem) -> None:
    """Report each of the ``expected`` trigger names that is missing (or, on PostgreSQL,
    disabled): without them the database no longer refuses edits, whatever the rows say now."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        present = {name: True for name in conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars()}
    elif dialect == "postgresql":
        present = {name: enabled != "D" for name, enabled in conn.exec_driver_sql(
            "SELECT t.tgname, t.tgenabled FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal AND pg_table_is_visible(c.oid)")}
    else:
        return
    for name in sorted(expected):
        if name not in present:
            problem("trigger_missing", f"database trigger {name} is missing")
        elif not present[name]:
            problem("trigger_disabled", f"database trigger {name} is disabled")


def verify() -> list[Problem]:
    """Check every guarantee against the stored rows; an empty list means all hold.

    Per-transaction and global zero sums, balances and service minutes on account rows against
    their postings, running balances, no overdrafts, the hash chain (order without gaps, links,
    content), and references (each kind's shape, reversals negating their original exactly);
    the signed checkpoints kept outside the database (the chain still holds each checkpointed
    head, so a cut-off tail is found), the append-only triggers being in place, and what other
    features derive from the ledger (receivers of ``signals.ledger_verifying``: service records,
    recognition totals).
    It reads what is committed, in one snapshot on its own connection (REPEATABLE READ on
    PostgreSQL, a deferred read transaction on SQLite), so writers may carry on meanwhile
    without showing up as half-written transactions.
    """
    problems: list[Problem] = []
    with read_only():
        engine = db.engine
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                _check_sums(conn, problems)
                _check_balances(conn, problems)
                _check_chain(conn, problems)

                def problem(code, message, transaction_id=None, account_id=None):
                    problems.append(Problem(code, message, transaction_id, account_id))

                checkpoints.check(conn, problem)
                check_triggers(conn, LEDGER_TRIGGERS.get(engine.dialect.name, ()), problem)
                signals.ledger_verifying.send(conn, problem=problem)
    return problems
