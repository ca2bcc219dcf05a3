"""Helpers for the units tests: valid ID numbers and roster files."""
from __future__ import annotations

import csv
import io
import itertools

import openpyxl
import pytest
from stdnum.cn import ric

from timebank.units import roster

_seq = itertools.count(500)
HEADERS = [c.header for c in roster.COLUMNS]


def make_id_number(n: int | None = None) -> str:
    n = next(_seq) if n is None else n
    body = f"11010519850101{n % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def csv_bytes(rows, headers=HEADERS) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(headers)
    writer.writerows(rows)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def xlsx_bytes(rows, headers=HEADERS) -> bytes:
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("花名册")
    ws.append(headers)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def upload(client, data: bytes, unit, filename="roster.csv", mode="valid"):
    return client.post("/units/roster/import", data={
        "file": (io.BytesIO(data), filename), "mode": mode, "unit_id": str(unit.id)},
        content_type="multipart/form-data")


@pytest.fixture
def id_number():
    return make_id_number
