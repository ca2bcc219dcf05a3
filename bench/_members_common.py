"""Shared set-up for the members benchmarks: a fresh migrated database with one district,
one community with grids, units, the demo skills vocabulary and post catalogue.

SQLite always; PostgreSQL too when ``TIMEBANK_BENCH_DATABASE_URL`` is set (the benchmark creates
and drops its own database ``<name>_bench_members`` next to the one named, never touching it).
"""
from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

import _pg


def database_urls(tmp: Path) -> list[tuple[str, str]]:
    urls = [("sqlite", f"sqlite:///{tmp / 'bench.sqlite3'}")]
    pg = os.environ.get("TIMEBANK_BENCH_DATABASE_URL", "").strip()
    if pg:
        url = sa.make_url(pg)
        url = url.set(database=f"{url.database}_bench_members")
        _pg.recreate(url)
        urls.append(("postgresql", url.render_as_string(hide_password=False)))
    return urls


def drop_pg(url: str) -> None:
    _pg.drop(url)


@contextlib.contextmanager
def app_for(url: str, instance: Path):
    """An app on a freshly migrated database, its context pushed."""
    from flask_migrate import upgrade

    from timebank import create_app
    from timebank.config import TestConfig

    app = create_app(TestConfig(url, str(instance)))
    with app.app_context():
        logging.disable(logging.INFO)  # the migrations' progress lines
        try:
            upgrade(revision="heads")
        finally:
            logging.disable(logging.NOTSET)
        yield app
        from timebank.extensions import db

        db.session.remove()
        db.engine.dispose()


def build_district():
    """District, a street, the community under test (4 grids), 30 units, vocabulary, catalogue
    and a staff user. Returns (community, staff)."""
    from timebank.accounts import operations as accounts
    from timebank.demo import UNITS
    from timebank.extensions import db
    from timebank.members.demo import seed_post_catalogue, seed_skills
    from timebank.orgs import operations as orgs

    district = orgs.create_node(None, None, "district", "基准区", code="B")
    street = orgs.create_node(None, district, "street", "基准街道")
    community = orgs.create_node(None, street, "community", "基准社区")
    for i in range(4):
        orgs.create_node(None, community, "grid", f"第{'一二三四'[i]}网格")
    for name in UNITS:
        orgs.create_node(None, district, "unit", name)
    seed_skills()
    seed_post_catalogue()
    staff = accounts.create_user(None, "13800000003", "基准社工", password_hash="x")
    accounts.assign_role(None, staff, "community_staff", community)
    db.session.commit()
    return community, staff


def form_rows(n: int, seed: int = 1) -> list[list]:
    """``n`` completed forms in the template's column order, every one valid."""
    import random

    from stdnum.cn import ric

    from timebank.demo import UNITS, person_name
    from timebank.members.demo import SKILLS

    rng = random.Random(seed)
    avail = ["工作日晚上", "周末全天", "周六上午、周日下午", "周一至周五晚上", "周三晚上", ""]
    willing = ["爱心帮扶", "便民服务、理发义剪", "文体艺术", "空巢老人探访、课业辅导", ""]
    rows = []
    for i in range(n):
        birth = f"{1965 + i % 35}{1 + i % 12:02d}{1 + (i // 12) % 28:02d}"
        body = f"110105{birth}{i % 1000:03d}"
        number = body + ric.calc_check_digit(body + "0")
        skills = "、".join(name for _c, name, _e in rng.sample(SKILLS, k=rng.randint(0, 3)))
        rows.append([person_name(rng), f"139{i:08d}", number, rng.choice(UNITS + [""]),
                     f"第{'一二三四'[i % 4]}网格", skills, "", rng.choice(["跑步", "阅读", ""]),
                     rng.choice(willing), rng.choice(avail), str(rng.randint(0, 8))])
    return rows


class Timer:
    def __init__(self) -> None:
        self.laps: list[tuple[str, float]] = []

    @contextlib.contextmanager
    def lap(self, name: str):
        start = time.perf_counter()
        yield
        self.laps.append((name, time.perf_counter() - start))


def temp_dir() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="tb-bench-members-")
