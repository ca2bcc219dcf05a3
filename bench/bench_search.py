"""Benchmark of the members' post search (timebank.posts.queries.find_posts with keywords).

Usage::

    .venv/bin/python bench/bench_search.py                 # SQLite
    TIMEBANK_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/tb \\
        .venv/bin/python bench/bench_search.py             # SQLite, then PostgreSQL

Data (seeded): one district with 24 streets and 148 communities, the district catalogue, and
50,000 published posts (titles, places and descriptions drawn from word lists, so a word such
as 理发 is in a few percent of them), each with 1-3 sessions spread from 30 days ago to 60 days
ahead. Posts and sessions are written in bulk straight into the tables; their search bodies are
computed with ``timebank.posts.search.search_body`` (pypinyin) and written in bulk too, as the
migration's backfill does. PostgreSQL is then analysed.

PostgreSQL uses its own database ``<name>_bench_search`` next to the one named (dropped and
created anew); SQLite a temporary file.

Measured: each search as a member of one community sees it (``find_posts``: the count for the
pager, the first page of 20 with its sessions), ``--runs`` times after one warm-up; median and
p95 in ms. Target: under 50 ms per search.
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
import types
from pathlib import Path

import sqlalchemy as sa

import _pg

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SEED = 18
N_STREETS, N_COMMUNITIES, N_POSTS = 24, 148, 50_000
BATCH = 5_000
TARGET_MS = 50

ACTIONS = ["理发", "义剪", "陪老人聊天", "下棋", "送餐", "打扫", "巡逻", "读书", "写春联", "量血压",
           "修家电", "垃圾分类", "反诈宣传", "辅导作业", "包饺子", "拍照", "合唱", "太极拳"]
WHO = ["独居老人", "社区居民", "留守儿童", "残疾人", "困难家庭", "新市民", "退役军人"]
PLACES = ["活动室", "党群服务中心", "小区广场", "老年食堂", "卫生服务站", "文化礼堂", "幼儿园"]
SEARCHES = [
    ("Chinese word 理发", {"text": "理发"}),
    ("Chinese phrase 陪老人聊天", {"text": "陪老人聊天"}),
    ("full pinyin lifa", {"text": "lifa"}),
    ("initials lf", {"text": "lf"}),
    ("initials + category + free places", {"text": "lf", "category_id": 1, "free_only": True}),
    ("pinyin + date range + my street", {"text": "xiaqi", "date_from": 7, "date_to": 21,
                                          "scope": "street"}),
    ("two words 老人 送餐, soonest first", {"text": "老人 送餐", "sort": "start"}),
    ("no match zzzq", {"text": "zzzq"}),
    ("no keyword (plain list), for comparison", {}),
]


def database_urls(tmp: Path) -> list[tuple[str, str]]:
    urls = [("sqlite", f"sqlite:///{tmp / 'search.sqlite3'}")]
    pg = os.environ.get("TIMEBANK_BENCH_DATABASE_URL", "").strip()
    if pg:
        url = sa.make_url(pg)
        url = url.set(database=f"{url.database}_bench_search")
        _pg.recreate(url)
        urls.append(("postgresql", url.render_as_string(hide_password=False)))
    return urls


def _insert(conn, table, rows) -> None:
    for i in range(0, len(rows), BATCH):
        conn.execute(table.insert(), rows[i:i + BATCH])


def load(db, rng: random.Random) -> dict:
    from timebank.catalogue.data import DISTRICT_CATALOGUE
    from timebank.catalogue.models import PostCategory, PostKind
    from timebank.core import clock
    from timebank.orgs.models import OrgNode
    from timebank.posts import search
    from timebank.posts.models import Post, PostSession

    now = clock.now()
    t0 = time.perf_counter()
    with db.engine.begin() as conn:
        nodes = [{"id": 1, "code": "B", "name": "基准区", "kind": "district", "parent_id": None,
                  "path": "/1/", "active": True, "created_at": now}]
        streets, communities = [], []
        for s in range(N_STREETS):
            nid = len(nodes) + 1
            streets.append(nid)
            nodes.append({"id": nid, "code": f"S{s:02d}", "name": f"第{s + 1}街道",
                          "kind": "street", "parent_id": 1, "path": f"/1/{nid}/",
                          "active": True, "created_at": now})
        for c in range(N_COMMUNITIES):
            nid, street = len(nodes) + 1, streets[c % N_STREETS]
            communities.append(nid)
            nodes.append({"id": nid, "code": f"C{c:03d}", "name": f"第{c + 1}社区",
                          "kind": "community", "parent_id": street,
                          "path": f"/1/{street}/{nid}/", "active": True, "created_at": now})
        _insert(conn, OrgNode.__table__, nodes)
        cats, kinds = [], []
        for pos, (code, name, name_en, kind_names) in enumerate(DISTRICT_CATALOGUE):
            cats.append({"id": pos + 1, "code": code, "name": name, "name_en": name_en,
                         "position": pos})
            for kpos, (kname, kname_en) in enumerate(kind_names):
                kinds.append({"id": len(kinds) + 1, "category_id": pos + 1,
                              "code": f"{code}-{kpos + 1:02d}", "name": kname,
                              "name_en": kname_en, "position": kpos, "community_id": None,
                              "active": True})
        _insert(conn, PostCategory.__table__, cats)
        _insert(conn, PostKind.__table__, kinds)
        names = {c["id"]: c["name"] for c in cats}
        posts, sessions, bodies = [], [], []
        for pid in range(1, N_POSTS + 1):
            kind = rng.choice(kinds)
            title = f"{rng.choice(WHO)}{rng.choice(ACTIONS)}"
            place = f"{nodes[rng.choice(communities) - 1]['name']}{rng.choice(PLACES)}"
            description = (f"为{rng.choice(WHO)}{rng.choice(ACTIONS)}，"
                           f"请提前十分钟到{rng.choice(PLACES)}集合。")
            community = rng.choice(communities)
            posts.append({"id": pid, "community_id": community, "kind_id": kind["id"],
                          "title": title, "description": description, "place": place,
                          "capacity": 5, "minutes_credit": None, "claim_deadline": None,
                          "open_to_all": rng.random() < 0.1, "status": "published",
                          "schedule": {}, "created_at": now, "published_at": now})
            bodies.append((pid, search.search_body(title, description, place, kind["name"],
                                                   names[kind["category_id"]])))
            for _ in range(rng.randint(1, 3)):
                start = now + dt.timedelta(days=rng.randint(-30, 60), hours=rng.randint(0, 10))
                claimed = rng.randint(0, 5)
                sessions.append({"post_id": pid, "starts_at": start,
                                 "ends_at": start + dt.timedelta(hours=2), "capacity": 5,
                                 "claimed": claimed, "minutes_credit": 120, "cancelled": False})
        _insert(conn, Post.__table__, posts)
        _insert(conn, PostSession.__table__, sessions)
        for i in range(0, len(bodies), BATCH):
            search.write_bodies(bodies[i:i + BATCH], conn)
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    else:
        with db.engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
    return {"community_id": communities[0], "sessions": len(sessions),
            "load_s": time.perf_counter() - t0}


def run(kind: str, url: str, instance: Path, runs: int) -> None:
    from flask_migrate import upgrade

    from timebank import create_app
    from timebank.config import TestConfig
    from timebank.core import clock
    from timebank.extensions import db
    from timebank.orgs.models import OrgNode
    from timebank.posts import queries

    app = create_app(TestConfig(url, str(instance)))
    with app.app_context():
        upgrade(revision="heads")
        info = load(db, random.Random(SEED))
        print(f"[{kind}] loaded {N_POSTS:,} posts, {info['sessions']:,} sessions "
              f"with their search bodies in {info['load_s']:.1f} s", flush=True)
        community = db.session.get(OrgNode, info["community_id"])
        # find_posts reads the member's community and id only.
        member = types.SimpleNamespace(id=-1, community_id=community.id, community=community)
        today = clock.today()
        print(f"[{kind}] {'search':<42} {'median':>8} {'p95':>8} {'found':>7}  target")
        for label, spec in SEARCHES:
            spec = dict(spec)
            for key in ("date_from", "date_to"):
                if key in spec:
                    spec[key] = today + dt.timedelta(days=spec[key])
            filters = queries.Filters(**spec)
            queries.find_posts(member, filters, 1, 20)  # warm-up
            times, page = [], None
            for _ in range(runs):
                t0 = time.perf_counter()
                page = queries.find_posts(member, filters, 1, 20)
                times.append((time.perf_counter() - t0) * 1000)
                db.session.rollback()
            times.sort()
            p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
            median = statistics.median(times)
            flag = "ok" if p95 < TARGET_MS else "OVER"
            print(f"[{kind}] {label:<42} {median:8.1f} {p95:8.1f} {page.total:7,}  "
                  f"< {TARGET_MS} ms {flag}", flush=True)
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for kind, url in database_urls(tmp):
            try:
                if not args.only or kind == args.only:
                    run(kind, url, tmp / f"instance-{kind}", args.runs)
            finally:
                if kind == "postgresql":
                    _pg.drop(url)


if __name__ == "__main__":
    main()
