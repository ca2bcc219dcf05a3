"""Street and district dashboards: figures per community and unit, claim and attendance rates,
hours by category and month (reversed deposits left out), open needs and unfilled posts, as a
page with charts, a table and .xlsx."""
from __future__ import annotations

import io

import openpyxl
import pytest
from reports_helpers import catalogue, claim, local, session, verified

from timebank.core import clock
from timebank.reports import dashboard


@pytest.fixture
def year(db, tree, make_user, reverse_tx):
    kind_a, kind_b = catalogue(db)
    yi = make_user("member", tree.C2, name="乙", unit=tree.U2)
    s1 = session(db, tree.C1, kind_a, local(2026, 3, 5, 9), capacity=4)
    s2 = session(db, tree.C2, kind_b, local(2026, 4, 12, 9), capacity=2)
    s3 = session(db, tree.C3, kind_b, local(2026, 4, 20, 9), capacity=3)  # street S2
    claim(db, s1, tree.member, "attended")
    claim(db, s1, yi, "no_show")
    claim(db, s2, yi, "attended")
    claim(db, s3, tree.member3, "attended")
    verified(db, tree.member, s1, 120, local(2026, 3, 6, 10))
    verified(db, yi, s2, 90, local(2026, 4, 13, 10))
    wrong = verified(db, yi, s2, 30, local(2026, 4, 14, 10))
    reverse_tx(wrong, local(2026, 4, 15, 10))
    verified(db, tree.member3, s3, 60, local(2026, 4, 21, 10))
    # A future post with places left in C1, and an open need in C2.
    with clock.freeze(local(2026, 5, 1, 9)):
        session(db, tree.C1, kind_a, local(2026, 6, 1, 9), capacity=3)
    return {"kinds": (kind_a, kind_b), "yi": yi}


@pytest.fixture
def reverse_tx(db):
    from timebank.ledger import operations as ledger

    def undo(tx, at):
        with clock.freeze(at):
            ledger.reverse(None, tx, "录入错误")
        db.session.commit()

    return undo


def test_street_figures(db, tree, year):
    with clock.freeze(local(2026, 5, 10, 9)):
        d = dashboard.build(tree.S1, 2026)
    by_name = {c.name: c for c in d.communities}
    assert set(by_name) == {"甲社区", "乙社区"}
    c1, c2 = by_name["甲社区"], by_name["乙社区"]
    assert (c1.registered, c1.reported, c1.active, c1.minutes) == (1, 1, 1, 120)
    assert (c2.registered, c2.reported, c2.active, c2.minutes) == (1, 1, 1, 90)
    assert c1.unfilled_posts == 1 and c2.unfilled_posts == 0
    units = {u.name: u for u in d.units}
    assert units["区人民医院"].minutes == 120 and units["区第一中学"].minutes == 90
    march, april = d.months[2], d.months[3]
    assert (march.places, march.claimed, march.attended, march.no_shows) == (4, 2, 1, 1)
    assert (april.places, april.claimed, april.attended) == (2, 1, 1)
    kind_a, kind_b = year["kinds"]
    assert march.minutes_by_category == {kind_a.category_id: 120}
    assert april.minutes_by_category == {kind_b.category_id: 90}  # the reversed 30 left out
    # June offers 3 more places, none claimed yet.
    assert d.claim_rate == 3 / 9 and d.attendance_rate == 2 / 3


def test_district_includes_every_street(db, tree, year):
    with clock.freeze(local(2026, 5, 10, 9)):
        d = dashboard.build(tree.D, 2026)
    assert d.total("minutes") == 270 and d.total("registered") == 3
    assert sum(m.minutes for m in d.months) == 270


def test_dashboard_page_and_export(db, client, tree, year):
    client.login(tree.street_admin)
    with clock.freeze(local(2026, 5, 10, 9)):
        r = client.get("/reports/dashboard?year=2026")
        assert r.status_code == 200
        assert "工作看板" in r.text and "甲社区" in r.text and "<svg" in r.text
        assert "丙社区" not in r.text  # the other street
        r = client.get(f"/reports/dashboard.xlsx?scope={tree.S1.id}&year=2026")
    assert r.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(r.data))
    values = [c for ws in wb.worksheets for row in ws.iter_rows(values_only=True)
              for c in row if c is not None]
    assert "甲社区" in values and 2 in values  # 120 minutes = 2 hours
    admin = client.application.test_client()
    admin.login(tree.district_admin)
    with clock.freeze(local(2026, 5, 10, 9)):
        r = admin.get(f"/reports/dashboard?scope={tree.D.id}&year=2026")
    assert r.status_code == 200 and "丙社区" in r.text
