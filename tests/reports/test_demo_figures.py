"""On the demo district, read as an organiser and a member would: the rendered pages agree with
each other (issue 13). The dashboard's headline equals its months, communities and units totals,
the rows add up to the totals (to the rounding of the shown figures), and the demo member's home,
statement, activity card and star page show the same verified hours."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from timebank.core.web import hours


class _Tables(HTMLParser):
    """Every table of a page as {"id": ..., "body": [[cell text]], "foot": [[cell text]]}."""

    def __init__(self):
        super().__init__()
        self.tables, self._part, self._row, self._cell = [], None, None, None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append({"body": [], "foot": []})
        elif tag in ("tbody", "tfoot") and self.tables:
            self._part = "body" if tag == "tbody" else "foot"
        elif tag == "tr" and self._part:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1][self._part].append(self._row)
            self._row = None
        elif tag in ("tbody", "tfoot"):
            self._part = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _tables(html: str) -> list[dict]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def _number(text: str) -> float:
    return float(text.replace(",", "").split()[0])


def _by_id(html: str, element_id: str) -> str:
    m = re.search(rf'id="{element_id}"[^>]*>\s*([^<]+)', html)
    assert m, element_id
    return m.group(1).strip()


@pytest.fixture
def demo_pages(app, db):
    from timebank import demo

    demo.seed()
    db.session.commit()

    def page(phone: str, path: str) -> str:
        client = app.test_client()
        r = client.post("/auth/login", data={"phone": phone, "password": demo.DEMO_PASSWORD})
        assert r.status_code == 302, r.text[:500]
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code)
        return r.text

    return page


def test_demo_dashboard_and_member_pages_agree(demo_pages, db):
    from timebank import measures
    from timebank.core import clock
    from timebank.members.models import Member
    from timebank.accounts.models import User
    from sqlalchemy import select

    year = clock.today().year
    html = demo_pages("13800000001", f"/reports/dashboard?year={year}")
    headline = _by_id(html, "figure-verified_service_minutes")
    total = _number(headline)
    assert total > 0
    for element_id in ("months-total", "communities-total", "units-total"):
        assert _number(_by_id(html, element_id)) == total, element_id
    # The rows add up to the total, to the rounding of the figures shown (0.05 h a row).
    tables = _tables(html)
    totals = {t["foot"][0][0]: t for t in tables if t["foot"]}
    for table in tables:
        foot = table["foot"]
        if not foot or not table["body"] or len(table["body"][0]) < 6:
            continue
        rows = table["body"]
        column = next(i for i, v in enumerate(foot[0]) if v and _is_hours(v) and _number(v) == total)
        shown = sum(_number(r[column]) for r in rows if len(r) > column and r[column])
        assert abs(shown - total) <= 0.05 * len(rows) + 1e-9, (foot[0][0], shown, total)
    assert totals  # the dashboard has total rows at all

    # Every month of the demo's history, July to now, has verified service on the dashboard.
    months = measures.by_month(measures.verified_service_minutes, None, year)
    assert all(months[m] > 0 for m in range(7, clock.today().month + 1)), months

    # The demo member: home, statement, activity card and star page say the same hours.
    user = db.session.execute(select(User).where(User.phone == "13800000005")).scalar_one()
    member = db.session.execute(select(Member).where(Member.user_id == user.id)).scalar_one()
    all_time = hours(measures.verified_service_minutes(member=member))
    statement = demo_pages("13800000005", f"/ledger/members/{member.id}")
    assert _by_id(statement, "service").split()[0] == all_time
    home = demo_pages("13800000005", "/")
    assert _by_id(home, "total-hours").split()[0] == all_time
    card = demo_pages("13800000005", "/posts/card")
    assert _by_id(card, "service-hours") == all_time
    star = demo_pages("13800000005", f"/recognition/members/{member.id}")  # /me redirects here
    assert all_time in _by_id(star, "star-total")


def _is_hours(text: str) -> bool:
    return bool(re.fullmatch(r"[\d,]+(\.\d)?", text.strip()))  # whole hours show no ".0"
