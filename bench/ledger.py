"""Benchmark of the time-bank ledger (timebank.ledger) on SQLite or PostgreSQL.

Usage::

    .venv/bin/python bench/ledger.py                      # SQLite in a temporary folder
    TIMEBANK_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/tb_bench_ledger \\
        .venv/bin/python bench/ledger.py
    .venv/bin/python bench/ledger.py --deposits 20000 --postings 200000   # a quicker run

What it measures (all through the application's own functions):

1. Deposits per second through the ledger's operations for ``--deposits`` deposits (default
   100,000), each a distinct service record, ``--batch`` (default 100) to a request: a
   community's staff verifying a session's attendance in bulk, which calls
   ``operations.deposit_many``. Then ``--single`` deposits (default 2,000) through
   ``operations.deposit`` one by one, 100 to a request and one to a request (the single
   verification); on PostgreSQL the last is bounded by the WAL flush at every commit.
2. The ledger is then filled to ``--postings`` postings (default 1,000,000) with bulk inserts that
   keep every invariant: the rows are built in Python (hash chain, running balances) and written
   with executemany (SQLite) or COPY (PostgreSQL) with the database's triggers in force; the
   account caches are set to match.
3. Median (and 95th percentile) time of ``queries.member_figures`` (balance) and of the first
   page of ``queries.statement`` for random members, then ``verification.verify()`` over everything.

The PostgreSQL database named in the URL is dropped and created again.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

import _pg  # noqa: E402

SEED = 20261121
TARGETS = {"deposits_per_s": 1000, "balance_ms": 5.0, "statement_ms": 50.0}


def log(message: str) -> None:
    print(message, flush=True)


def prepare_database(url: str) -> None:
    if url.startswith("postgresql"):
        _pg.recreate(url)


def make_app(url: str, instance: str):
    import logging

    from flask_migrate import upgrade

    from timebank import create_app
    from timebank.config import TestConfig

    app = create_app(TestConfig(url, instance))
    app.config["TESTING"] = False
    with app.app_context():
        upgrade(revision="heads")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return app


def seed_people(n_members: int):
    """A district with 4 streets, 12 communities, one staff member each, and ``n_members``."""
    from werkzeug.security import generate_password_hash

    from timebank.accounts import operations as accounts
    from timebank.extensions import db
    from timebank.members import operations as members
    from timebank.orgs import operations as orgs
    from timebank.orgs.models import OrgKind

    pw = generate_password_hash("bench-password")
    district = orgs.create_node(None, None, OrgKind.DISTRICT, "基准区", code="BENCH")
    communities, staff = [], []
    for s in range(4):
        street = orgs.create_node(None, district, OrgKind.STREET, f"第{s + 1}街道")
        for c in range(3):
            community = orgs.create_node(None, street, OrgKind.COMMUNITY, f"社区{s + 1}-{c + 1}")
            communities.append(community)
            user = accounts.create_user(None, f"1380{len(staff):07d}", f"社工{len(staff)}",
                                        password_hash=pw)
            accounts.assign_role(None, user, "community_staff", community)
            staff.append(user)
    db.session.commit()
    member_ids = []
    for i in range(n_members):
        user = accounts.create_user(None, f"1390{i:07d}", f"党员{i}", password_hash=pw)
        m = members.create_approved_member(None, user, communities[i % len(communities)])
        member_ids.append(m.id)
        if i % 500 == 499:
            db.session.commit()
    db.session.commit()
    return district.id, [c.id for c in communities], [u.id for u in staff], member_ids


def bench_deposits(n: int, batch: int, member_ids, staff_by_community, first_source: int,
                   bulk: bool):
    """``n`` deposits through the ledger's operations, committing every ``batch``; returns
    (deposits per second, this process's CPU ms per deposit).

    Each batch is what one request does: a community's staff member verifying a session's
    attendance. It loads its acting user and its members (one query each), deposits for each
    member, and commits. ``bulk``: through ``operations.deposit_many`` (what the bulk
    verification page calls), else ``operations.deposit`` once per member.
    """
    from sqlalchemy.orm import selectinload

    from timebank.accounts.models import User
    from timebank.extensions import db
    from timebank.ledger import operations
    from timebank.members.models import Member

    rng = random.Random(SEED + first_source)
    by_community: dict[int, list[int]] = {}
    for member_id, community_id in db.session.execute(
            sa.select(Member.id, Member.community_id).where(Member.id.in_(member_ids))):
        by_community.setdefault(community_id, []).append(member_id)
    communities = sorted(by_community)
    started, cpu = time.perf_counter(), time.process_time()
    for number, offset in enumerate(range(0, n, batch)):
        community_id = communities[number % len(communities)]
        pool = by_community[community_id]
        ids = [pool[k % len(pool)] for k in range(offset, min(n, offset + batch))]
        actor = db.session.get(User, staff_by_community[community_id])
        members = {m.id: m for m in db.session.execute(
            sa.select(Member).where(Member.id.in_(set(ids)))
            .options(selectinload(Member.community))).scalars()}
        if bulk:
            operations.deposit_many(actor, [
                operations.DepositItem(members[member_id], rng.randint(30, 240), "bench",
                                       first_source + k, "基准测试")
                for k, member_id in enumerate(ids, start=offset)])
        else:
            for k, member_id in enumerate(ids, start=offset):
                operations.deposit(actor, members[member_id], rng.randint(30, 240),
                                   source_type="bench", source_id=first_source + k,
                                   reason="基准测试")
        db.session.commit()
    return n / (time.perf_counter() - started), (time.process_time() - cpu) / n * 1000


def fill_postings(target_postings: int, district_id: int, member_ids) -> float:
    """Bulk-append deposits (2 postings each) until the ledger holds ``target_postings``."""
    from timebank.extensions import db
    from timebank.ledger.hashing import transaction_hash
    from timebank.ledger import verification
    from timebank.ledger.models import Account, AccountKind, Posting

    session = db.session
    have = session.execute(sa.select(sa.func.count()).select_from(Posting)).scalar_one()
    n_tx = max(0, (target_postings - have) // 2)
    if not n_tx:
        return 0.0
    started = time.perf_counter()
    issuance = session.execute(sa.select(Account.id, Account.balance_minutes).where(
        Account.kind == AccountKind.ISSUANCE, Account.org_id == district_id)).one()
    accounts = {m: (a, b, s) for a, m, b, s in session.execute(
        sa.select(Account.id, Account.member_id, Account.balance_minutes, Account.service_minutes)
        .where(Account.member_id.in_(member_ids)))}
    # Members the deposit phase reached (all of them at the default sizes).
    acct_ids = [accounts[m][0] for m in member_ids if m in accounts]
    balance = {a: b for a, b, _ in accounts.values()}
    service = {a: s for a, _, s in accounts.values()}
    balance[issuance.id] = issuance.balance_minutes
    last_id, prev_hash = verification.chain_tip()
    session.commit()

    is_pg = db.engine.dialect.name == "postgresql"
    rng = random.Random(SEED)
    start_time = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    chunk = 25_000
    raw = db.engine.raw_connection()
    try:
        driver = raw.driver_connection
        tx_id = last_id
        done = 0
        while done < n_tx:
            size = min(chunk, n_tx - done)
            tx_rows, posting_rows = [], []
            for _ in range(size):
                tx_id += 1
                acct = acct_ids[rng.randrange(len(acct_ids))]
                amount = rng.randint(15, 120)
                at = start_time + dt.timedelta(seconds=tx_id * 37, microseconds=tx_id % 999_983)
                key = f"deposit:bench_fill:{tx_id}"
                digest = transaction_hash(
                    id=tx_id, kind="deposit", created_at=at, actor_id=None, reason="批量存储",
                    source_type="bench_fill", source_id=tx_id, idempotency_key=key,
                    reverses_id=None, beneficiary_id=None, service_account_id=acct,
                    service_minutes=amount, postings=[(issuance.id, -amount), (acct, amount)],
                    prev_hash=prev_hash)
                balance[issuance.id] -= amount
                balance[acct] += amount
                service[acct] += amount
                posting_rows.append((tx_id, issuance.id, -amount, balance[issuance.id]))
                posting_rows.append((tx_id, acct, amount, balance[acct]))
                naive = at.replace(tzinfo=None)
                tx_rows.append((tx_id, "deposit",
                                naive if is_pg else naive.strftime("%Y-%m-%d %H:%M:%S.%f"),
                                "批量存储", "bench_fill", tx_id, key, acct, amount, prev_hash,
                                digest))
                prev_hash = digest
            # Postings first, then their transactions: the order the triggers expect.
            if is_pg:
                with driver.cursor() as cur:
                    with cur.copy("COPY ledger_postings (transaction_id, account_id, amount, "
                                  "balance_after) FROM STDIN") as copy:
                        for row in posting_rows:
                            copy.write_row(row)
                    with cur.copy("COPY ledger_transactions (id, kind, created_at, reason, "
                                  "source_type, source_id, idempotency_key, service_account_id, "
                                  "service_minutes, prev_hash, hash) FROM STDIN") as copy:
                        for row in tx_rows:
                            copy.write_row(row)
                driver.commit()
            else:
                cur = driver.cursor()
                cur.execute("BEGIN IMMEDIATE")
                cur.executemany("INSERT INTO ledger_postings (transaction_id, account_id, amount, "
                                "balance_after) VALUES (?, ?, ?, ?)", posting_rows)
                cur.executemany("INSERT INTO ledger_transactions (id, kind, created_at, reason, "
                                "source_type, source_id, idempotency_key, service_account_id, "
                                "service_minutes, prev_hash, hash) "
                                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", tx_rows)
                cur.execute("COMMIT")
                cur.close()
            done += size
            log(f"  filled {done:,}/{n_tx:,} transactions")
        # The account caches, in one transaction with the last rows' balances.
        rows = [(balance[a], service.get(a, 0), a) for a in balance]
        cur = driver.cursor()
        if is_pg:
            cur.executemany("UPDATE ledger_accounts SET balance_minutes = %s, "
                            "service_minutes = %s WHERE id = %s", rows)
            driver.commit()
            cur.execute("ANALYZE")
        else:
            cur.execute("BEGIN IMMEDIATE")
            cur.executemany("UPDATE ledger_accounts SET balance_minutes = ?, "
                            "service_minutes = ? WHERE id = ?", rows)
            cur.execute("COMMIT")
            cur.execute("ANALYZE")
        cur.close()
    finally:
        raw.close()
    return time.perf_counter() - started


def timed(fn, args_list) -> tuple[float, float]:
    """(median, p95) in milliseconds of ``fn(*args)`` over ``args_list``, each call in its own
    read transaction, as a page request would do."""
    from timebank.core.db import read_only
    from timebank.extensions import db

    times = []
    for args in args_list:
        with read_only():
            started = time.perf_counter()
            fn(*args)
            times.append((time.perf_counter() - started) * 1000)
            db.session.rollback()
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deposits", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--single", type=int, default=2_000,
                        help="deposits in the one-commit-per-deposit sample")
    parser.add_argument("--postings", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=50, help="timed runs per query")
    parser.add_argument("--no-verify", action="store_true")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="tb-bench-ledger-")
    url = os.environ.get("TIMEBANK_BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite3"
    kind = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    prepare_database(url)
    app = make_app(url, tmp)
    from timebank.extensions import db
    from timebank.ledger import queries
    from timebank.ledger import verification

    with app.app_context():
        version = db.session.execute(sa.text(
            "SELECT version()" if kind == "PostgreSQL" else "SELECT sqlite_version()")).scalar()
        log(f"Ledger benchmark on {kind} ({str(version).split(' on ')[0]}), "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
        started = time.perf_counter()
        district_id, communities, staff_ids, member_ids = seed_people(args.members)
        log(f"Seeded {len(member_ids):,} members in {len(communities)} communities in "
            f"{time.perf_counter() - started:.1f} s")

        staff = dict(zip(communities, staff_ids))
        rate, cpu = bench_deposits(args.deposits, args.batch, member_ids, staff,
                                   first_source=1, bulk=True)
        log(f"deposits (operations.deposit_many, {args.batch} a request): "
            f"{args.deposits:,} deposits, {rate:,.0f} deposits/s "
            f"[target >= {TARGETS['deposits_per_s']:,}]; this process's CPU {cpu:.2f} ms each")
        rate, cpu = bench_deposits(args.single, args.batch, member_ids, staff,
                                   first_source=10_000_000, bulk=False)
        log(f"deposits (operations.deposit one by one, {args.batch} a request): "
            f"{args.single:,} deposits, {rate:,.0f} deposits/s; "
            f"this process's CPU {cpu:.2f} ms each")
        rate, cpu = bench_deposits(args.single, 1, member_ids, staff,
                                   first_source=20_000_000, bulk=False)
        log(f"deposits (operations.deposit, one request each): {args.single:,} deposits, "
            f"{rate:,.0f} deposits/s; this process's CPU {cpu:.2f} ms each")

        fill = fill_postings(args.postings, district_id, member_ids)
        counts = verification.counts()
        log(f"Filled in {fill:.1f} s: {counts.transactions:,} transactions, "
            f"{counts.postings:,} postings, {counts.accounts:,} accounts")

        rng = random.Random(SEED)
        sample = [(rng.choice(member_ids),) for _ in range(args.runs)]
        per_member = counts.postings // 2 // len(member_ids)
        med, p95 = timed(queries.member_figures, sample)
        log(f"balance (queries.member_figures): median {med:.2f} ms, p95 {p95:.2f} ms "
            f"[target < {TARGETS['balance_ms']} ms]")
        med, p95 = timed(lambda m: queries.statement(m, 1, 20), sample)
        log(f"first statement page (queries.statement, 20 entries, ~{per_member} entries per "
            f"member): median {med:.2f} ms, p95 {p95:.2f} ms "
            f"[target < {TARGETS['statement_ms']} ms]")
        issuance = db.session.execute(sa.text(
            "SELECT id FROM ledger_accounts WHERE kind = 'issuance'")).scalar()
        med, p95 = timed(lambda a: queries.account_statement(a, 1, 20),
                         [(issuance,)] * max(5, args.runs // 5))
        log(f"first statement page of the issuance account ({counts.postings // 2:,}+ entries):"
            f" median {med:.2f} ms, p95 {p95:.2f} ms")
        if not args.no_verify:
            started = time.perf_counter()
            problems = verification.verify()
            log(f"verify: {len(problems)} problems in {time.perf_counter() - started:.1f} s")
            for p in problems[:10]:
                log(f"  {p}")
            if problems:
                return 1
        log(f"load average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
