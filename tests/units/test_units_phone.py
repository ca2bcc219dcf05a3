"""The roster and agreement pages on a 390 px phone: no sideways scrolling, rows as cards."""
from __future__ import annotations

import datetime as dt
import os

import pytest

from tests.browser.phone_browser import MARKS, chromium, log_in, phone
from tests.units.conftest import make_id_number
from timebank.core import clock
from timebank.units import operations
from timebank.units.roster import import_rows

pytestmark = MARKS
SHOTS = os.environ.get("TIMEBANK_SHOTS")  # a folder to keep screenshots in, when set


@pytest.fixture
def live_server(app):
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def _no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_roster_and_agreement_on_a_phone(db, tree, live_server):
    rows = [{"name": "党员丙", "phone": tree.member3.phone, "management": "协管", "community": "丙社区"},
            {"name": "赵未报", "id_number": make_id_number(), "phone": "13912340001",
             "management": "直管", "community": "甲社区"}]
    import_rows(tree.liaison, tree.U1, list(enumerate(rows, start=2)))
    a = operations.create_agreement(tree.liaison, tree.U1, tree.C1, "2026年度区人民医院与甲社区共建协议",
                                    dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    hours = operations.add_commitment(tree.liaison, a, "hours", "在职党员每月进社区开展志愿服务", 6000)
    operations.add_commitment(tree.liaison, a, "funds", "资助老旧小区便民设施改造", 20000)
    operations.sign(tree.liaison, a)
    operations.sign(tree.staff, a)
    operations.record_fulfilment(tree.staff, hours, 3000, clock.today(), "义诊", "台账第3页")
    db.session.commit()
    with chromium() as browser:
        page = phone(browser, live_server)
        log_in(page, tree.liaison)
        page.goto("/units/roster")
        assert page.locator("table.roster tbody tr").count() == 2
        assert page.locator("table.roster thead").bounding_box()["height"] <= 1  # cards
        _no_sideways_scroll(page)
        if SHOTS:
            page.screenshot(path=f"{SHOTS}/roster.png", full_page=True)
        page.goto(f"/units/roster/{tree.U1.id}/unregistered")
        assert page.locator(".qr svg").count() == 1
        assert "赵未报" in page.locator(".unregistered-list").inner_text()
        _no_sideways_scroll(page)
        page.goto(f"/units/agreements/{a.id}")
        assert "总体 25%" in page.locator(".overall").inner_text()
        _no_sideways_scroll(page)
        if SHOTS:
            page.screenshot(path=f"{SHOTS}/agreement.png", full_page=True)
        page.goto("/units/agreements")
        _no_sideways_scroll(page)
        # The community side: a fulfilment form per commitment, opened from a fold.
        page = phone(browser, live_server)
        log_in(page, tree.staff)
        page.goto(f"/units/agreements/{a.id}")
        page.locator("details summary").first.click()
        page.fill(f"#f{hours.id}-amount", "12.5")
        page.fill(f"#f{hours.id}-on_date", clock.today().isoformat())
        _no_sideways_scroll(page)
        if SHOTS:
            page.screenshot(path=f"{SHOTS}/agreement_staff.png", full_page=True)
        page.locator(f"form[action$='/items/{hours.id}/fulfil'] button[type=submit]").click()
        page.wait_for_load_state()
        assert "总体 31%" in page.locator(".overall").inner_text()
        if SHOTS:
            page.screenshot(path=f"{SHOTS}/agreements.png", full_page=True)
