"""Benchmark of the yearly rankings (timebank.recognition.queries.ranking).

Usage::

    .venv/bin/python bench/rankings.py                 # SQLite
    TIMEBANK_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/tb \\
        .venv/bin/python bench/rankings.py             # SQLite, then PostgreSQL

Data (seeded): one district with 24 streets, 148 communities and 800 units; 100,000 members;
490,000 verified-service deposits spread over 2025 and 2026 (Asia/Shanghai) and 10,000
reversals of them: 1,000,000 postings. The ledger rows are written in bulk straight into the
tables (the hash chain is not computed: the rankings do not read it). On SQLite the ledger's
triggers run, including the one keeping the yearly totals the rankings read; PostgreSQL loads
with triggers off (``session_replication_role = replica``), builds the totals with the
migration's backfill statement, and is then vacuumed and analysed.

Also timed, for comparison: the same figures aggregated straight from the ledger's
transactions (``totals_from_ledger``, the check behind ``timebank recognition verify-totals``).

PostgreSQL uses its own database ``<name>_bench_rankings`` next to the one named (dropped and
created anew); SQLite a temporary file.

Measured, each as the median of 5 runs after one warm-up, through ``queries.ranking``: the
district ranking of 2026 as the ranking page reads it (first 50 ranks with names, and the number
ranked), the same ranking in full (every ranked member with names, as the .xlsx export and the
year-end snapshot read it), and a street's and a community's first page.
Then the street dashboard (posts, 47,360 sessions with 142,080 claims, a verified service record
behind every deposit, open needs): its figures, and the page as a street admin gets it over
HTTP (the test client: routing, login session, queries, template, charts).
Targets: district ranking under 300 ms, street dashboard page under 500 ms.
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

import sqlalchemy as sa

import _pg

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SEED = 20261121
N_STREETS, N_COMMUNITIES, N_UNITS = 24, 148, 800
N_MEMBERS = 100_000
N_DEPOSITS, N_REVERSALS = 490_000, 10_000
BATCH = 20_000
TARGET_MS = 300
DASHBOARD_TARGET_MS = 500


def database_urls(tmp: Path, keep: bool = False) -> list[tuple[str, str]]:
    urls = [("sqlite", f"sqlite:///{tmp / 'rankings.sqlite3'}")]
    pg = os.environ.get("TIMEBANK_BENCH_DATABASE_URL", "").strip()
    if pg:
        url = sa.make_url(pg)
        url = url.set(database=f"{url.database}_bench_rankings")
        _pg.recreate(url, keep=keep)
        urls.append(("postgresql", url.render_as_string(hide_password=False)))
    return urls


def drop_pg(url: str) -> None:
    _pg.drop(url)


def _insert(conn, table, rows) -> None:
    for i in range(0, len(rows), BATCH):
        conn.execute(table.insert(), rows[i:i + BATCH])


def load(db, rng: random.Random) -> dict:
    """Write the district, members and ledger rows; returns what the timings need."""
    from timebank.accounts.models import User
    from timebank.core import clock
    from timebank.ledger.models import Account, Posting, Transaction
    from timebank.members.models import Member
    from timebank.orgs.models import OrgNode

    now = clock.now()
    t0 = time.perf_counter()
    pg = db.engine.dialect.name == "postgresql"
    with db.engine.begin() as conn:
        if pg:
            # Bulk load: skip the ledger's row triggers (balance, append-only) and FK checks.
            conn.execute(sa.text("SET session_replication_role = replica"))
        nodes = [{"id": 1, "code": "B", "name": "基准区", "kind": "district", "parent_id": None,
                  "path": "/1/", "active": True, "created_at": now}]
        streets, communities, units = [], [], []
        next_id = 2
        for s in range(N_STREETS):
            streets.append(next_id)
            nodes.append({"id": next_id, "code": f"S{s:02d}", "name": f"第{s + 1}街道",
                          "kind": "street", "parent_id": 1, "path": f"/1/{next_id}/",
                          "active": True, "created_at": now})
            next_id += 1
        for c in range(N_COMMUNITIES):
            street = streets[c % N_STREETS]
            communities.append(next_id)
            nodes.append({"id": next_id, "code": f"C{c:03d}", "name": f"第{c + 1}社区",
                          "kind": "community", "parent_id": street,
                          "path": f"/1/{street}/{next_id}/", "active": True,
                          "created_at": now})
            next_id += 1
        for u in range(N_UNITS):
            units.append(next_id)
            nodes.append({"id": next_id, "code": f"U{u:03d}", "name": f"第{u + 1}单位",
                          "kind": "unit", "parent_id": 1, "path": f"/1/{next_id}/",
                          "active": True, "created_at": now})
            next_id += 1
        _insert(conn, OrgNode.__table__, nodes)

        users, members = [], []
        for i in range(1, N_MEMBERS + 1):
            users.append({"id": i, "phone": f"139{i:08d}", "name": f"党员{i}",
                          "password_hash": None, "active": True, "created_at": now,
                          "session_version": 1})
            members.append({"id": i, "user_id": i, "community_id": rng.choice(communities),
                            "grid_id": None,
                            "unit_id": rng.choice(units) if rng.random() < 0.8 else None,
                            "status": "approved", "created_at": now, "name_initials": "",
                            "phone_tail": f"{i % 10000:04d}", "profile_version": 0})
        _insert(conn, User.__table__, users)
        _insert(conn, Member.__table__, members)

        # Accounts: 1 issuance, 148 pools, one per member (account id = member id + 1000).
        accounts = [{"id": 1, "kind": "issuance", "member_id": None, "org_id": 1,
                     "allow_negative": True, "balance_minutes": 0, "service_minutes": 0,
                     "created_at": now}]
        accounts += [{"id": 10 + n, "kind": "pool", "member_id": None, "org_id": c,
                      "allow_negative": False, "balance_minutes": 0, "service_minutes": 0,
                      "created_at": now} for n, c in enumerate(communities)]

        # Deposits over two local years; activity is skewed (a few members serve a lot).
        start = clock.local_year_bounds(2025)[0]
        span = (clock.local_year_bounds(2026)[1] - start).total_seconds()
        weights = [min(rng.paretovariate(2.0), 20.0) for _ in range(N_MEMBERS)]
        chosen = rng.choices(range(1, N_MEMBERS + 1), weights=weights, k=N_DEPOSITS)
        events = []
        for k, member_id in enumerate(chosen):
            at = start + dt.timedelta(seconds=rng.random() * span)
            events.append((at, "deposit", member_id, rng.choice((30, 60, 90, 120, 180, 240)),
                           k))
        for k in rng.sample(range(N_DEPOSITS), N_REVERSALS):
            at, _, member_id, minutes, _ = events[k]
            later = min(at + dt.timedelta(days=rng.random() * 30),
                        start + dt.timedelta(seconds=span - 1))
            events.append((later, "reversal", member_id, -minutes, k))
        events.sort(key=lambda e: e[0])
        service = [0] * (N_MEMBERS + 1)
        tx_id_of_deposit = {}
        txs, postings = [], []
        for tx_id, (at, kind, member_id, minutes, k) in enumerate(events, start=1):
            account = member_id + 1000
            service[member_id] += minutes
            if kind == "deposit":
                tx_id_of_deposit[k] = tx_id
            txs.append({
                "id": tx_id, "kind": kind, "created_at": at, "actor_id": None, "reason": "服务",
                "source_type": "service_record", "source_id": k + 1,
                "idempotency_key": f"{kind}:service_record:{k}",
                "reverses_id": tx_id_of_deposit[k] if kind == "reversal" else None,
                "beneficiary_id": None, "service_account_id": account,
                "service_minutes": minutes, "prev_hash": f"{tx_id - 1:064x}",
                "hash": f"{tx_id:064x}"})
            postings.append({"transaction_id": tx_id, "account_id": 1, "amount": -minutes,
                             "balance_after": 0})
            postings.append({"transaction_id": tx_id, "account_id": account, "amount": minutes,
                             "balance_after": 0})
        accounts += [{"id": m + 1000, "kind": "member", "member_id": m, "org_id": None,
                      "allow_negative": False, "balance_minutes": service[m],
                      "service_minutes": service[m], "created_at": now}
                     for m in range(1, N_MEMBERS + 1)]
        _insert(conn, Account.__table__, accounts)
        # SQLite's ledger triggers want a transaction's postings written before the
        # transaction row; go batch by batch in that order.
        for i in range(0, len(txs), BATCH):
            conn.execute(Posting.__table__.insert(), postings[2 * i:2 * (i + BATCH)])
            conn.execute(Transaction.__table__.insert(), txs[i:i + BATCH])
        _load_posts(conn, rng, now, communities, members, events, start, span)
        if pg:
            conn.execute(sa.text("SET session_replication_role = origin"))
            for table in ("org_nodes", "users", "members", "ledger_accounts", "post_categories",
                          "post_kinds", "posts", "post_sessions", "claims", "service_records",
                          "demands"):
                conn.execute(sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"))
    if pg:
        # Triggers were off during the load: build the yearly totals as the migration's
        # backfill does (on SQLite the ledger trigger kept them row by row).
        with db.engine.begin() as conn:
            conn.execute(sa.text(_backfill_sql()))
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    else:
        with db.engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
        # Move the load out of the write-ahead log, as SQLite's automatic checkpoints would
        # over time; reads through a huge WAL measure the bulk load, not the query.
        raw = db.engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    n_postings = len(postings)
    return {"load_s": time.perf_counter() - t0, "postings": n_postings,
            "transactions": len(txs), "street_id": streets[0], "community_id": communities[0]}


POSTS_PER_COMMUNITY, SESSIONS_PER_POST, CLAIMS_PER_SESSION = 20, 16, 3


def _load_posts(conn, rng: random.Random, now, communities, members, events, start,
                span) -> None:
    """The posts side the dashboards read: catalogue, posts with sessions over the two years,
    claims with attendance, a verified service record behind every deposit, open needs."""
    from timebank.catalogue.data import DISTRICT_CATALOGUE
    from timebank.lists.models import Demand
    from timebank.catalogue.models import PostCategory, PostKind
    from timebank.posts.models import Claim, Post, PostSession, ServiceRecord

    cats, kinds = [], []
    for pos, (code, name, name_en, kind_names) in enumerate(DISTRICT_CATALOGUE):
        cats.append({"id": pos + 1, "code": code, "name": name, "name_en": name_en,
                     "position": pos})
        for kpos, (kname, kname_en) in enumerate(kind_names):
            kinds.append({"id": len(kinds) + 1, "category_id": pos + 1,
                          "code": f"{code}-{kpos + 1:02d}", "name": kname, "name_en": kname_en,
                          "position": kpos, "community_id": None, "active": True})
    _insert(conn, PostCategory.__table__, cats)
    _insert(conn, PostKind.__table__, kinds)
    posts, sessions, posts_of = [], [], {}
    for c in communities:
        for _ in range(POSTS_PER_COMMUNITY):
            post_id = len(posts) + 1
            kind = rng.choice(kinds)
            posts.append({"id": post_id, "community_id": c, "kind_id": kind["id"],
                          "title": f"岗位{post_id}", "description": "", "place": "",
                          "capacity": 10, "minutes_credit": None, "claim_deadline": None,
                          "open_to_all": False, "status": "published", "schedule": {},
                          "created_by_id": None, "created_at": now, "published_at": now,
                          "closed_at": None, "cancel_reason": None})
            posts_of.setdefault(c, []).append((post_id, kind["id"]))
            for _ in range(SESSIONS_PER_POST):
                at = start + dt.timedelta(seconds=rng.random() * span)
                sessions.append({"id": len(sessions) + 1, "post_id": post_id, "starts_at": at,
                                 "ends_at": at + dt.timedelta(hours=2), "capacity": 10,
                                 "claimed": 0, "minutes_credit": 120, "cancelled": False})
    _insert(conn, Post.__table__, posts)
    members_of: dict[int, list[int]] = {}
    for m in members:
        members_of.setdefault(m["community_id"], []).append(m["id"])
    community_of_post = {p["id"]: p["community_id"] for p in posts}
    claims = []
    for sess in sessions:
        pool = members_of.get(community_of_post[sess["post_id"]], [])
        chosen = rng.sample(pool, min(CLAIMS_PER_SESSION, len(pool)))
        sess["claimed"] = len(chosen)
        for member_id in chosen:
            roll = rng.random()
            attendance = ("attended" if roll < 0.8 else "no_show" if roll < 0.9 else None)
            claims.append({"session_id": sess["id"], "post_id": sess["post_id"],
                           "member_id": member_id, "status": "active", "created_at": now,
                           "updated_at": None, "promoted": False, "checked_in_at": None,
                           "checked_out_at": None, "attendance": attendance})
    _insert(conn, PostSession.__table__, sessions)
    _insert(conn, Claim.__table__, claims)
    community_of_member = {m["id"]: m["community_id"] for m in members}
    records = []
    for tx_id, (at, kind, member_id, minutes, k) in enumerate(events, start=1):
        if kind != "deposit":
            continue
        c = community_of_member[member_id]
        post_id, kind_id = rng.choice(posts_of[c])
        records.append({"id": k + 1, "member_id": member_id, "community_id": c,
                        "source": "attendance", "claim_id": None, "post_id": post_id,
                        "kind_id": kind_id, "description": "",
                        "started_at": at - dt.timedelta(days=1, hours=2),
                        "ended_at": at - dt.timedelta(days=1), "minutes": minutes,
                        "status": "verified", "flags": [], "created_at": at,
                        "created_by_id": None, "reviewed_at": at, "reviewed_by_id": None,
                        "reject_reason": None, "transaction_id": tx_id})
    _insert(conn, ServiceRecord.__table__, records)
    demands = [{"community_id": c, "grid_id": None, "category_id": rng.choice(cats)["id"],
                "need_kind": "volunteers", "title": "微心愿", "description": "",
                "resident_name": "", "is_wish": True, "people_needed": 1,
                "minutes_needed": None, "window_start": None, "window_end": None,
                "urgency": 1, "deadline": None, "status": rng.choice(("open", "done")),
                "project_id": None, "created_by_id": None, "created_at": now,
                "updated_at": None} for c in communities for _ in range(5)]
    _insert(conn, Demand.__table__, demands)


def _backfill_sql() -> str:
    import importlib.util

    path = ROOT / "migrations" / "versions" / "0005_jobs_recognition.py"
    spec = importlib.util.spec_from_file_location("rev0005", path)
    rev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rev)
    return rev.BACKFILL.format(year=rev.YEAR_SQL["postgresql"].replace("NEW.", "t."))


def _logged_in_street_admin(app, db, street):
    """A test client logged in as an admin of ``street`` (created on first use)."""
    from werkzeug.security import generate_password_hash

    from timebank.accounts import operations as accounts

    phone = "13700000001"
    user = accounts.find_by_phone(phone)
    if user is None:
        user = accounts.create_user(None, phone, "街道管理员",
                                    password_hash=generate_password_hash("bench-password"))
        accounts.assign_role(None, user, "street_admin", street)
        db.session.commit()
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    r = client.post("/auth/login", data={"phone": phone, "password": "bench-password"})
    assert r.status_code == 302, r.status_code
    return client


def timed(fn, runs: int = 5) -> tuple[float, object]:
    fn()  # warm-up (plans, caches)
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), result


def run(kind: str, url: str, instance: Path, reuse: bool = False) -> None:
    from flask_migrate import upgrade

    from timebank import create_app
    from timebank.config import TestConfig
    from timebank.extensions import db
    from timebank.orgs.models import OrgNode
    from timebank.recognition import queries

    app = create_app(TestConfig(url, str(instance)))
    with app.app_context():
        upgrade(revision="heads")
        loaded = reuse and db.session.execute(sa.text("SELECT count(*) FROM members")).scalar()
        db.session.rollback()
        if loaded:
            info = {"street_id": 2, "community_id": 2 + N_STREETS}
            print(f"[{kind}] reusing the loaded database", flush=True)
        else:
            info = load(db, random.Random(SEED))
            print(f"[{kind}] loaded {N_MEMBERS:,} members, {info['transactions']:,} "
                  f"transactions, {info['postings']:,} postings in {info['load_s']:.1f} s",
                  flush=True)
        district = db.session.get(OrgNode, 1)
        street = db.session.get(OrgNode, info["street_id"])
        community = db.session.get(OrgNode, info["community_id"])

        def full():
            r = queries.ranking(district, 2026)
            db.session.rollback()
            return r

        def page(scope):
            def go():
                r = queries.ranking(scope, 2026, limit=50)
                db.session.rollback()
                return r
            return go

        ms_page, r = timed(page(district))
        print(f"[{kind}] district ranking 2026, page 1 of 50 with total:  {ms_page:8.1f} ms  "
              f"({r.total:,} ranked)  target < {TARGET_MS} ms: "
              f"{'OK' if ms_page < TARGET_MS else 'MISSED'}")
        ms_full, r = timed(full)
        top = r.rows[0]
        print(f"[{kind}] district ranking 2026, all {r.total:,} rows with names "
              f"(export, snapshot): {ms_full:8.1f} ms  (#1 {top.minutes} min, "
              f"{top.sessions} sessions)")
        ms, r = timed(page(street))
        print(f"[{kind}] street ranking 2026, page 1:     {ms:8.1f} ms  ({r.total:,} ranked)")
        ms, r = timed(page(community))
        print(f"[{kind}] community ranking 2026, page 1:  {ms:8.1f} ms  ({r.total:,} ranked)",
              flush=True)

        def from_ledger():
            r = queries.totals_from_ledger(2026)
            db.session.rollback()
            return r

        ms, r = timed(from_ledger, runs=3)
        print(f"[{kind}] (for comparison) the year aggregated from the ledger: {ms:8.1f} ms "
              f"({len(r):,} members)", flush=True)

        from timebank.reports import dashboard

        def figures():
            d = dashboard.build(street, 2026)
            db.session.rollback()
            return d

        ms, d = timed(figures)
        print(f"[{kind}] street dashboard figures 2026:            {ms:8.1f} ms  "
              f"({d.total('registered'):,} members, {d.month_total('claimed'):,} claims, "
              f"{d.total('minutes') / 60:,.0f} h)")
        client = _logged_in_street_admin(app, db, street)

        def page_view():
            response = client.get(f"/reports/dashboard?scope={street.id}&year=2026")
            assert response.status_code == 200, response.status_code
            return response

        ms, r = timed(page_view)
        print(f"[{kind}] street dashboard page (HTTP GET, rendered): {ms:8.1f} ms  "
              f"({len(r.data) / 1024:.0f} KiB)  target < {DASHBOARD_TARGET_MS} ms: "
              f"{'OK' if ms < DASHBOARD_TARGET_MS else 'MISSED'}", flush=True)
        ms, d = timed(lambda: (dashboard.build(district, 2026), db.session.rollback())[0],
                      runs=3)
        print(f"[{kind}] (for comparison) district dashboard figures: {ms:8.1f} ms", flush=True)
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--sqlite-file", type=Path,
                        help="keep the SQLite database in this file and reuse it next time")
    parser.add_argument("--keep", action="store_true",
                        help="keep the PostgreSQL database and reuse it next time")
    args = parser.parse_args()
    if args.sqlite_file:
        run("sqlite", f"sqlite:///{args.sqlite_file.resolve()}",
            args.sqlite_file.resolve().parent / "instance-sqlite", reuse=True)
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for kind, url in database_urls(tmp, keep=args.keep):
            if args.only and kind != args.only:
                if kind == "postgresql" and not args.keep:
                    drop_pg(url)
                continue
            try:
                run(kind, url, tmp / f"instance-{kind}", reuse=args.keep)
            finally:
                if kind == "postgresql" and not args.keep:
                    drop_pg(url)


if __name__ == "__main__":
    main()
