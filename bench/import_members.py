"""Benchmark of the bulk import of registration forms (timebank.members.imports).

Usage::

    .venv/bin/python bench/import_members.py                 # 10,000 rows, SQLite
    .venv/bin/python bench/import_members.py --rows 20000
    TIMEBANK_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/tb \\
        .venv/bin/python bench/import_members.py             # SQLite and PostgreSQL

For each database: a fresh migrated schema with one community, then the same file is imported
twice through the real code path (read and check the upload, validate every row, write, commit):
the first import creates every member, the second must change nothing. Both .xlsx and .csv are
timed. Prints one line per phase.
"""
from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _members_common import (Timer, app_for, build_district, database_urls, drop_pg,  # noqa: E402
                             form_rows, temp_dir)


def make_files(rows: list[list]) -> dict[str, bytes]:
    import openpyxl

    from timebank.members.sheets import COLUMNS

    headers = [c.header for c in COLUMNS]
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("报到登记")
    ws.append(headers)
    for row in rows:
        ws.append(row)
    xlsx = io.BytesIO()
    wb.save(xlsx)
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(headers)
    writer.writerows(rows)
    return {"xlsx": xlsx.getvalue(), "csv": ("\ufeff" + text.getvalue()).encode("utf-8")}


def run(kind: str, url: str, instance: Path, files: dict[str, bytes], n: int) -> None:
    from sqlalchemy import func, select

    from timebank.extensions import db
    from timebank.members import imports, sheets
    from timebank.members.models import Member

    for fmt, data in files.items():
        with app_for(url, instance), db.session.no_autoflush:
            community, staff = build_district()
            timer = Timer()
            for attempt in ("first", "again"):
                start = time.perf_counter()
                with timer.lap(f"{attempt}: read {fmt}"):
                    rows = sheets.read_upload(io.BytesIO(data), f"forms.{fmt}")
                with timer.lap(f"{attempt}: validate + write"):
                    result = imports.import_rows(staff, community, rows, all_or_nothing=True)
                with timer.lap(f"{attempt}: commit"):
                    db.session.commit()
                total = time.perf_counter() - start
                assert result.committed and not result.errors, result.errors[:5]
                print(f"{kind:<10} {fmt:<4} {attempt:<5} {n:>6} rows  total {total:6.2f} s  "
                      f"created {result.created:>6}  updated {result.updated}  "
                      f"unchanged {result.unchanged:>6}")
            members = db.session.execute(select(func.count()).select_from(Member)).scalar_one()
            assert members == n, members
            for name, seconds in timer.laps:
                print(f"{'':<10} {fmt:<4}   {name:<28} {seconds:6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    with temp_dir() as tmp:
        tmp = Path(tmp)
        urls = database_urls(tmp)
        start = time.perf_counter()
        rows = form_rows(args.rows)
        files = make_files(rows)
        print(f"generated {args.rows} rows: xlsx {len(files['xlsx']) / 1e6:.1f} MB, "
              f"csv {len(files['csv']) / 1e6:.1f} MB in {time.perf_counter() - start:.1f} s")
        for kind, url in urls:
            if kind == "sqlite":
                Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
            try:
                for fmt in files:
                    if kind == "sqlite":
                        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
                    else:
                        drop_pg(url)
                        database_urls(tmp)  # recreate the empty PostgreSQL database
                    run(kind, url, tmp, {fmt: files[fmt]}, args.rows)
            finally:
                drop_pg(url)


if __name__ == "__main__":
    main()
