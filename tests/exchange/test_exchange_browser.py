"""The member's 爱心超市 on a 390x844 phone: cards that fit, an item requested with one tap,
and the request in 我的兑换; the staff's queue hands it over."""
from __future__ import annotations

import os

import pytest

from tests.browser.phone_browser import MARKS, chromium, log_in, phone

pytestmark = MARKS


@pytest.fixture
def browser():
    with chromium() as b:
        yield b


def _shot(page, name):
    if os.environ.get("TIMEBANK_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["TIMEBANK_SCREENSHOTS"], f"{name}.png"),
                        full_page=True)


def _fits(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page is {width} px wide"


def test_member_requests_on_the_phone_and_staff_hand_over(browser, live_server, db, tree,
                                                         make_item, member_of, fund, balance,
                                                         stock):
    member = member_of(tree.member)
    fund(member, 240)
    item = make_item(title="爱心大米（5 公斤）", stock=2, price=120)
    make_item(org=tree.S1, title="上门理发", kind="service", stock=None, price=60)
    page = phone(browser, live_server)
    log_in(page, tree.member)
    page.goto("/exchange/")
    assert page.locator(".exchange-item").count() == 2
    _fits(page)
    _shot(page, "exchange-index")
    page.click("text=爱心大米（5 公斤）")
    _fits(page)
    _shot(page, "exchange-item")
    page.click("#request-item")
    page.wait_for_url("**/exchange/mine")
    assert "待处理" in page.locator("#my-requests").inner_text()
    _fits(page)
    assert stock(item.id) == 1

    staff = phone(browser, live_server)
    log_in(staff, tree.staff)
    staff.goto("/exchange/manage/requests")
    _fits(staff)
    _shot(staff, "exchange-queue")
    staff.click("text=发放并扣除时长")
    staff.wait_for_selector(".alert-success")
    assert balance(member) == 120
    page.goto("/exchange/mine")
    assert "已兑换" in page.locator("#my-requests").inner_text()
