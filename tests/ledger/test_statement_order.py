"""A member's statement is newest first by the date the service was done (then by posting),
the same on the page, in the PDF and in the xlsx."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest

from tests.service_records import served
from timebank.core import clock


@pytest.fixture
def history(db, tree, member_of):
    """Deposits posted in an order other than the service dates, a reversal and a relay.

    Service done 10 days ago (posted first), 2 days ago (posted second), 20 days ago (posted
    third, late verification); the 10-days record's verification is withdrawn; then a relay.
    """
    from timebank.ledger import operations as ledger
    from timebank.posts import operations

    m = member_of(tree.member)
    now = clock.now()
    a = served(tree.staff, m, now - dt.timedelta(days=10), 60, description="甲服务")
    b = served(tree.staff, m, now - dt.timedelta(days=2), 90, description="乙服务")
    c = served(tree.staff, m, now - dt.timedelta(days=20), 120, description="丙服务")
    operations.revoke(tree.staff, a, "录入错误")
    db.session.commit()
    m3 = member_of(tree.member3)
    ledger.relay(tree.member, m, 30, to_member=m3, reason="接力给丙")
    db.session.commit()
    return m, a, b, c


def _expected(m):
    """(kind, minutes) newest first by service date: the relay (posted now, no service), then
    乙 (2 days), 甲's reversal and 甲 (10 days: the reversal posted later), then 丙 (20 days)."""
    return [("relay", -30), ("deposit", 90), ("reversal", -60), ("deposit", 60),
            ("deposit", 120)]


def test_statement_query_orders_by_service_date(db, history):
    from timebank.ledger import queries

    m, a, b, c = history
    page = queries.statement(m, 1, 20)
    assert [(e.kind, e.amount) for e in page.items] == _expected(m)
    assert page.items[1].served_at == b.started_at
    assert page.items[2].served_at == page.items[3].served_at == a.started_at
    assert page.items[0].served_at is None and page.items[0].date == page.items[0].at
    # The balance after each posting is the posting's own, whatever the display order.
    # Posted 甲 +60 (60), 乙 +90 (150), 丙 +120 (270), 甲 reversed (210), relay -30 (180).
    assert [e.balance_after for e in page.items] == [180, 150, 210, 60, 270]
    # Pages cut the same order.
    two = [queries.statement(m, p, 2).items for p in (1, 2, 3)]
    assert [(e.kind, e.amount) for chunk in two for e in chunk] == _expected(m)


def test_page_pdf_and_xlsx_share_the_order(client, db, tree, history):
    from openpyxl import load_workbook
    from pypdf import PdfReader

    from timebank.ledger import queries

    m, *_ = history
    ids = [e.transaction_id for e in queries.statement(m, 1, 20).items]
    client.login(tree.member)
    html = client.get(f"/ledger/members/{m.id}").get_data(as_text=True)
    table = html[html.index("statement-table"):html.index("statement-cards")]
    cards = html[html.index("statement-cards"):]
    assert [int(x) for x in re.findall(r'statement-row" data-entry="(\d+)"', table)] == ids
    assert [int(x) for x in re.findall(r'statement-card" data-entry="(\d+)"', cards)] == ids

    r = client.get(f"/ledger/members/{m.id}/statement.xlsx")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.data)).active
    rows = list(ws.iter_rows(values_only=True))
    header = next(i for i, row in enumerate(rows) if row[0] == "日期")
    body = [row for row in rows[header + 1:] if row[0]]
    assert [row[1] for row in body] == ids
    assert [row[5] for row in body] == [-0.5, 1.5, -1, 1, 2]  # hours, never minutes
    dates = [row[0] for row in body]
    assert dates[1] == clock.to_local(history[2].started_at).strftime("%Y-%m-%d %H:%M")

    r = client.get(f"/ledger/members/{m.id}/statement.pdf")
    assert r.status_code == 200
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.data)).pages)
    positions = [text.index(d) for d in dates[1:]]
    assert positions == sorted(positions)
