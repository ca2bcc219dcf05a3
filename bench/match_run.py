"""Benchmark of ``timebank match run`` end to end on a medium-size demo database.

Usage::

    .venv/bin/python bench/match_run.py                 # scratch SQLite file
    .venv/bin/python bench/match_run.py --members 20000 --posts 3000 --seed 7
    TIMEBANK_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/tb_bench \\
        .venv/bin/python bench/match_run.py             # PostgreSQL (the database is WIPED)

The database is built by the real migrations, then filled directly with bulk inserts (no ORM,
no operations) so that setup takes seconds: a district of 24 streets and 148 communities with
3 grids each, 40 skills with skewed popularity, the 34 post kinds, 20,000 approved members with
a registration form (1-3 skills, 1-4 willing kinds, sometimes a whole category, 3-8 free slots
out of 21, some with a monthly limit), 3,000 published posts (one session each in the next four
weeks, 0-2 required skills, 1-8 places, 5% open to all streets), about 4,000 claims and, through
the ledger's own ``deposit``, verified service for 1,500 members (the fairness input).

Then the real console script ``timebank match run`` runs in a fresh process, so the time printed
includes starting Python and the app, loading candidates, scoring, solving and storing the
proposals. Target: under 15 s. The command's own summary line gives the split and the number of
candidates.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 15.0
N_STREETS, N_COMMUNITIES, GRIDS_PER_COMMUNITY, N_SKILLS = 24, 148, 3, 40
CHUNK = 2000


def _prepare(url: str, instance: str) -> None:
    import sqlalchemy as sa

    if url.startswith("postgresql"):
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
    from flask_migrate import upgrade

    from timebank import create_app
    from timebank.config import TestConfig

    app = create_app(TestConfig(url, instance))
    with app.app_context():
        upgrade(revision="heads")


def _insert(conn, table, rows) -> None:
    for start in range(0, len(rows), CHUNK):
        conn.execute(table.insert(), rows[start:start + CHUNK])


def _fill(url: str, instance: str, n_members: int, n_posts: int, seed: int) -> dict:
    from timebank import create_app
    from timebank.accounts.models import User
    from timebank.config import TestConfig
    from timebank.core import clock
    from timebank.catalogue import operations as catalogue
    from timebank.catalogue.data import DISTRICT_CATALOGUE
    from timebank.extensions import db
    from timebank.members.models import (Member, MemberProfile, Skill, member_profile_categories,
                                         member_profile_kinds, member_profile_skills)
    from timebank.orgs.models import OrgNode
    from timebank.catalogue.models import PostCategory, PostKind
    from timebank.posts.models import Claim, Post, PostSession, post_skills

    rng = random.Random(seed)
    app = create_app(TestConfig(url, instance))
    now = clock.now()
    with app.app_context():

        catalogue.ensure_catalogue(DISTRICT_CATALOGUE)
        db.session.commit()
        kinds = [(k.id, k.category_id) for k in db.session.query(PostKind).all()]
        categories = [c.id for c in db.session.query(PostCategory).all()]

        conn = db.session.connection()
        nodes, nid = [], 0

        def node(kind, name, parent):
            nonlocal nid
            nid += 1
            path = (parent["path"] if parent else "/") + f"{nid}/"
            row = {"id": nid, "code": f"B{nid}", "name": name, "kind": kind,
                   "parent_id": parent["id"] if parent else None, "path": path, "active": True,
                   "created_at": now}
            nodes.append(row)
            return row

        district = node("district", "基准区", None)
        streets = [node("street", f"街道{i + 1}", district) for i in range(N_STREETS)]
        communities = [node("community", f"社区{i + 1}", streets[i % N_STREETS])
                       for i in range(N_COMMUNITIES)]
        grids = {c["id"]: [node("grid", f"网格{j + 1}", c) for j in range(GRIDS_PER_COMMUNITY)]
                 for c in communities}
        units = [node("unit", f"单位{i + 1}", district) for i in range(200)]
        _insert(conn, OrgNode.__table__, nodes)
        street_of = {c["id"]: c["parent_id"] for c in communities}

        # Skills with Zipf-like popularity.
        _insert(conn, Skill.__table__, [
            {"id": i + 1, "code": f"K{i + 1:02d}", "name": f"技能{i + 1}", "name_en": "",
             "active": True, "position": i} for i in range(N_SKILLS)])
        skill_weights = [1 / (i + 1) for i in range(N_SKILLS)]

        users, members, profiles, p_skills, p_kinds, p_cats = [], [], [], [], [], []
        member_comm = {}
        for i in range(1, n_members + 1):
            c = rng.choice(communities)
            users.append({"id": i, "phone": f"15{i:09d}", "name": f"党员{i}",
                          "password_hash": "x", "active": True, "created_at": now,
                          "session_version": 1})
            members.append({"id": i, "user_id": i, "community_id": c["id"],
                            "grid_id": rng.choice(grids[c["id"]])["id"],
                            "unit_id": rng.choice(units)["id"], "status": "approved",
                            "created_at": now, "name_initials": "dy",
                            "phone_tail": f"{i % 10000:04d}",
                            "profile_version": 1, "applied_at": now})
            member_comm[i] = c["id"]
            cells = rng.sample(range(21), rng.randint(3, 8))
            profiles.append({"id": i, "member_id": i, "version": 1, "created_at": now,
                             "source": "import", "free_text_skills": "", "hobbies": "",
                             "availability": sum(1 << b for b in cells),
                             "max_sessions_per_month": rng.choice([None, None, 2, 4, 6])})
            for s in set(rng.choices(range(1, N_SKILLS + 1), skill_weights, k=rng.randint(1, 3))):
                p_skills.append({"profile_id": i, "skill_id": s})
            for k in set(rng.choices(kinds, k=rng.randint(1, 4))):
                p_kinds.append({"profile_id": i, "kind_id": k[0]})
            if rng.random() < 0.3:
                p_cats.append({"profile_id": i, "category_id": rng.choice(categories)})
        _insert(conn, User.__table__, users)
        _insert(conn, Member.__table__, members)
        _insert(conn, MemberProfile.__table__, profiles)
        _insert(conn, member_profile_skills, p_skills)
        _insert(conn, member_profile_kinds, p_kinds)
        _insert(conn, member_profile_categories, p_cats)

        posts_rows, sessions_rows, ps_rows = [], [], []
        today = clock.today()
        for i in range(1, n_posts + 1):
            c = rng.choice(communities)
            kind_id, _cat = rng.choice(kinds)
            capacity = rng.randint(1, 8)
            posts_rows.append({"id": i, "community_id": c["id"], "kind_id": kind_id,
                               "title": f"岗位{i}", "description": "", "place": "",
                               "capacity": capacity, "minutes_credit": None,
                               "claim_deadline": None, "open_to_all": rng.random() < 0.05,
                               "status": "published", "schedule": {}, "created_at": now,
                               "published_at": now})
            day = today + dt.timedelta(days=rng.randint(1, 28))
            start = rng.choice([dt.time(9), dt.time(14, 30), dt.time(19)])
            starts = clock.local_datetime(day, start)
            sessions_rows.append({"id": i, "post_id": i, "starts_at": starts,
                                  "ends_at": starts + dt.timedelta(hours=2), "capacity": capacity,
                                  "claimed": 0, "minutes_credit": 120, "cancelled": False})
            for s in set(rng.choices(range(1, N_SKILLS + 1), skill_weights,
                                     k=rng.choice([0, 1, 1, 2]))):
                ps_rows.append({"post_id": i, "skill_id": s})
        # Claims by members of the post's street, within capacity.
        by_street: dict[int, list[int]] = {}
        for m, c in member_comm.items():
            by_street.setdefault(street_of[c], []).append(m)
        claims, taken = [], set()
        for _ in range(4000):
            srow = rng.choice(sessions_rows)
            prow = posts_rows[srow["post_id"] - 1]
            if srow["claimed"] >= srow["capacity"]:
                continue
            m = rng.choice(by_street[street_of[prow["community_id"]]])
            if (m, srow["id"]) in taken:
                continue
            taken.add((m, srow["id"]))
            srow["claimed"] += 1
            claims.append({"session_id": srow["id"], "post_id": srow["post_id"], "member_id": m,
                           "status": "active", "created_at": now, "promoted": False})
        _insert(conn, Post.__table__, posts_rows)
        _insert(conn, PostSession.__table__, sessions_rows)
        _insert(conn, post_skills, ps_rows)
        _insert(conn, Claim.__table__, claims)
        db.session.commit()

        # Verified service through the ledger itself (hash chain, accounts, postings).
        from timebank.ledger import operations as ledger

        served = rng.sample(range(1, n_members + 1), min(1500, n_members))
        for k, m in enumerate(served):
            ledger.deposit(None, db.session.get(Member, m), rng.choice([60, 120, 240, 600]),
                           source_type="bench", source_id=k + 1, reason="bench")
            if k % 500 == 499:
                db.session.commit()
                db.session.expunge_all()
        db.session.commit()
        return {"communities": len(communities), "members": n_members, "posts": n_posts,
                "claims": len(claims), "deposits": len(served)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--posts", type=int, default=3_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="tb-bench-") as tmp:
        url = os.environ.get("TIMEBANK_BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite3"
        kind = "postgresql" if url.startswith("postgresql") else "sqlite"
        t = time.perf_counter()
        _prepare(url, tmp)
        figures = _fill(url, tmp, args.members, args.posts, args.seed)
        print(f"database ({kind}): {figures['members']} members, {figures['posts']} posts, "
              f"{figures['communities']} communities, {figures['claims']} claims, "
              f"{figures['deposits']} deposits; built in {time.perf_counter() - t:.1f} s",
              flush=True)

        env = {**os.environ, "TIMEBANK_DATABASE_URL": url, "TIMEBANK_INSTANCE_PATH": tmp}
        script = str(Path(sys.executable).parent / "timebank")
        t = time.perf_counter()
        proc = subprocess.run([script, "match", "run"], env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - t
        if proc.returncode != 0:
            print(proc.stdout, proc.stderr, file=sys.stderr)
            return 1
        print(f"timebank match run: {proc.stdout.strip()}")
        verdict = "OK" if elapsed < TARGET_SECONDS else "TOO SLOW"
        print(f"end to end (new process, app start included): {elapsed:.2f} s "
              f"(target < {TARGET_SECONDS:.0f} s) {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
