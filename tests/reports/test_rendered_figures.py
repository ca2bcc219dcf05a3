"""The figures people read on the rendered pages are the measures (issue 13): the dashboard's
headline, tables and totals, the member's statement (with 历史结转时长 on its own line), the
activity card, the ranking row and the star page, each with an ⓘ link to the glossary."""
from __future__ import annotations

import re

import pytest
from reports_helpers import catalogue, local, member_of, session, verified

from timebank.core import clock
from timebank.core.web import hours


def _shown(html: str, element_id: str) -> str:
    m = re.search(rf'id="{element_id}"[^>]*>\s*([^<\s]+)', html)
    assert m, element_id
    return m.group(1)


@pytest.fixture
def history(db, tree, make_user, reverse_tx):
    """Service of three members in three months and two categories, one reversal, a demo
    deposit (never service) and historical hours imported for 党员甲."""
    from timebank.ledger import history as ledger_history
    from timebank.ledger import operations as ledger

    kind_a, kind_b = catalogue(db)
    yi = make_user("member", tree.C2, name="乙")  # no unit
    s1 = session(db, tree.C1, kind_a, local(2026, 3, 5, 9))
    s2 = session(db, tree.C2, kind_b, local(2026, 4, 12, 9))
    s3 = session(db, tree.C3, kind_b, local(2026, 5, 20, 9))
    verified(db, tree.member, s1, 145, local(2026, 3, 6, 10))   # 2.4 h, verified a day later
    verified(db, tree.member, s2, 50, local(2026, 5, 1, 10))    # served in April
    verified(db, yi, s2, 90, local(2026, 4, 13, 10))
    wrong = verified(db, yi, s3, 30, local(2026, 5, 21, 10))
    reverse_tx(wrong, local(2026, 5, 22, 10))
    verified(db, tree.member3, s3, 60, local(2026, 5, 21, 10))
    with clock.freeze(local(2026, 6, 1, 10)):
        ledger.deposit(None, member_of(db, tree.member), 600, source_type="demo", source_id=1,
                       reason="演示")
        ledger_history.import_history(tree.district_admin, ledger_history.parse_csv(
            f"phone,minutes,note\n{tree.member.phone},300,纸质台账\n"))
    db.session.commit()
    return {"yi": yi}


@pytest.fixture
def reverse_tx(db):
    from timebank.ledger import operations as ledger

    def undo(tx, at):
        with clock.freeze(at):
            ledger.reverse(None, tx, "录入错误")
        db.session.commit()

    return undo


def test_dashboard_shows_the_measures(db, client, tree, history):
    from timebank import measures

    year = measures.Period.year(2026)
    client.login(tree.district_admin)
    with clock.freeze(local(2026, 6, 10, 9)):
        html = client.get(f"/reports/dashboard?scope={tree.D.id}&year=2026").text
    minutes = measures.verified_service_minutes(tree.D, year)
    assert minutes == 145 + 50 + 90 + 60  # not the demo 600, not the reversed 30
    shown = hours(minutes)
    assert _shown(html, "figure-verified_service_minutes") == shown
    assert _shown(html, "months-total") == shown
    assert _shown(html, "communities-total") == shown
    assert _shown(html, "units-total") == shown
    assert _shown(html, "figure-reported_members") == str(measures.reported_members(tree.D, year))
    assert _shown(html, "figure-active_members") == str(measures.active_members(tree.D, year))
    assert _shown(html, "figure-historical_minutes") == hours(
        measures.historical_minutes(tree.D, year)) == "5"
    # 乙 has no unit: a row of their own, with 乙's 90 minutes
    no_unit = re.search(r'<tr id="no-unit">(.*?)</tr>', html, re.S).group(1)
    assert "无单位" in no_unit and ">1.5<" in no_unit
    # every headline figure links to its definition
    for name in ("verified_service_minutes", "reported_members", "active_members", "claim_rate",
                 "attendance_rate", "historical_minutes"):
        assert f'href="/measures/#{name}"' in html, name
    assert 'aria-label="' in html and "ⓘ" in html
    glossary = client.get("/measures/").text
    assert 'id="active_members"' in glossary and "认领率" in glossary


def test_statement_card_ranking_and_star_show_the_measure(db, client, tree, history):
    from timebank import measures

    m = member_of(db, tree.member)
    year = measures.Period.year(2026)
    service = measures.verified_service_minutes(member=m)
    assert service == 195 and measures.historical_minutes(member=m) == 300
    client.login(tree.member)
    with clock.freeze(local(2026, 6, 10, 9)):
        statement = client.get(f"/ledger/members/{m.id}").text
        card = client.get("/posts/card").text
        star = client.get(f"/recognition/members/{m.id}?year=2026").text
    assert _shown(statement, "service") == hours(service) == "3.3"
    assert re.search(r'data-measure="historical_minutes">5<', statement)
    assert "历史结转时长" in statement
    assert 'href="/measures/#verified_service_minutes"' in statement
    assert _shown(card, "service-hours") == hours(service)
    assert _shown(card, "historical-hours") == "5"
    star_total = re.search(r'id="star-total">([^<]*)<', star).group(1)
    assert re.search(rf"(?<![0-9.]){re.escape(hours(service))}(?![0-9.])", star_total), star_total
    admin = client.application.test_client()
    admin.login(tree.district_admin)
    with clock.freeze(local(2026, 6, 10, 9)):
        page = admin.get(f"/recognition/rankings?scope={tree.D.id}&year=2026").text
    row = re.search(rf'<tr id="rank-{m.id}">(.*?)</tr>', page, re.S).group(1)
    assert re.search(r'data-measure="verified_service_minutes">([^<]+)<', row).group(1) == hours(
        measures.verified_service_minutes(period=year, member=m))
    # the demo deposit of 600 minutes does not rank: 乙's 90 is below 党员甲's 195 only
    first = re.search(r'<tr id="rank-(\d+)">', page).group(1)
    assert int(first) == m.id
