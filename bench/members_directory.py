"""Benchmark of the staff member directory with 20,000 members in one community.

Usage::

    .venv/bin/python bench/members_directory.py                  # SQLite
    .venv/bin/python bench/members_directory.py --members 50000
    TIMEBANK_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/tb \\
        .venv/bin/python bench/members_directory.py              # SQLite and PostgreSQL

Fills the community through the import path (with forms: skills, willingness, availability),
plus a neighbouring community so the scope filter has something to exclude, then requests
directory pages as the community's staff through the test client (login, session, scoping,
count, page of 50, template) and prints the median and worst of several runs per page.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _members_common import app_for, build_district, database_urls, drop_pg, form_rows, temp_dir  # noqa: E402,I001

REPEAT = 7


def fill(community, staff, n: int) -> float:
    from timebank.extensions import db
    from timebank.members import imports, sheets

    start = time.perf_counter()
    headers = [c.key for c in sheets.COLUMNS]
    rows = [(i + 2, dict(zip(headers, row))) for i, row in enumerate(form_rows(n))]
    for chunk in range(0, n, 10_000):
        result = imports.import_rows(staff, community, rows[chunk:chunk + 10_000])
        assert result.committed and not result.errors, result.errors[:3]
        db.session.commit()
    return time.perf_counter() - start


def neighbour(community, n: int) -> None:
    """Another community in the same street with its own members (outside the staff's scope)."""
    from timebank.extensions import db
    from timebank.members import imports, sheets
    from timebank.orgs import operations as orgs

    other = orgs.create_node(None, community.parent, "community", "邻近社区")
    orgs.create_node(None, other, "grid", "第一网格")
    headers = [c.key for c in sheets.COLUMNS]
    rows = [(i + 2, dict(zip(headers, row))) for i, row in enumerate(form_rows(n, seed=2))]
    for _i, cells in rows:  # distinct people: other phones and ID numbers
        cells["phone"] = "137" + cells["phone"][3:]
        cells["id_number"] = _other_id(cells["id_number"])
        cells["grid"] = "第一网格"
    imports.import_rows(None, other, rows)
    db.session.commit()


def _other_id(number: str) -> str:
    from stdnum.cn import ric

    body = "110108" + number[6:17]
    return body + ric.calc_check_digit(body + "0")


def pages(community) -> list[tuple[str, dict]]:
    from sqlalchemy import select

    from timebank.extensions import db
    from timebank.members.models import Skill
    from timebank.orgs.models import OrgNode
    from timebank.catalogue.models import PostCategory, PostKind

    grid = db.session.execute(select(OrgNode).where(OrgNode.parent_id == community.id)
                              .order_by(OrgNode.code)).scalars().first()
    unit = db.session.execute(select(OrgNode).where(OrgNode.kind == "unit", OrgNode.name ==
                                                    "区人民医院")).scalar_one()
    skill = db.session.execute(select(Skill).where(Skill.code == "calligraphy")).scalar_one()
    cat = db.session.execute(select(PostCategory).where(PostCategory.code == "caring")).scalar_one()
    kind = db.session.execute(select(PostKind).where(PostKind.name == "理发义剪")).scalar_one()
    return [
        ("first page", {}),
        ("page 100", {"page": 100}),
        ("last page", {"page": 10_000}),
        ("search: name 王", {"q": "王"}),
        ("search: initials zh", {"q": "zh"}),
        ("search: phone tail", {"q": "0123"}),
        ("filter: grid", {"grid": grid.id}),
        ("filter: unit", {"unit": unit.id}),
        ("filter: skill", {"skill": skill.id}),
        ("filter: skill, page 20", {"skill": skill.id, "page": 20}),
        ("filter: willing category", {"willing": f"c{cat.id}"}),
        ("filter: willing kind", {"willing": f"k{kind.id}"}),
        ("filter: status pending", {"status": "pending"}),
        ("filter: grid+unit+skill", {"grid": grid.id, "unit": unit.id, "skill": skill.id}),
    ]


def run(kind: str, url: str, instance: Path, n: int) -> None:
    from werkzeug.security import generate_password_hash

    from timebank.extensions import db

    with app_for(url, instance) as app:
        app.config["WTF_CSRF_ENABLED"] = False
        community, staff = build_district()
        staff.password_hash = generate_password_hash("bench-pass-1")
        db.session.commit()
        seconds = fill(community, staff, n)
        neighbour(community, 2_000)
        if kind == "postgresql":
            with db.engine.connect() as conn:  # what autovacuum would do after a bulk load
                conn.exec_driver_sql("ANALYZE")
        print(f"{kind}: filled {n} members with forms in {seconds:.1f} s")
        targets = pages(community)
        phone = staff.phone
        db.session.remove()
        client = app.test_client()
        r = client.post("/auth/login", data={"phone": phone, "password": "bench-pass-1"})
        assert r.status_code == 302, r.status_code
        for label, args in targets:
            times = []
            for _ in range(REPEAT):
                start = time.perf_counter()
                r = client.get("/members/", query_string=args)
                times.append(time.perf_counter() - start)
                assert r.status_code == 200, (label, r.status_code)
            total = _total(r.text)
            print(f"{kind:<10} {label:<28} {total:>6} members  median "
                  f"{statistics.median(times) * 1000:7.1f} ms  worst {max(times) * 1000:7.1f} ms")
        start = time.perf_counter()
        r = client.get("/members/export.xlsx")
        assert r.status_code == 200
        print(f"{kind:<10} {'export all to .xlsx':<28} {len(r.data) / 1e6:5.1f} MB      "
              f"{(time.perf_counter() - start) * 1000:7.0f} ms")


def _total(html: str) -> str:
    import re

    m = re.search(r"(\d+) (?:members|名成员|位成员|人)", html)
    return m.group(1) if m else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=20_000)
    args = parser.parse_args()
    with temp_dir() as tmp:
        tmp = Path(tmp)
        for kind, url in database_urls(tmp):
            try:
                run(kind, url, tmp, args.members)
            finally:
                drop_pg(url)


if __name__ == "__main__":
    main()
