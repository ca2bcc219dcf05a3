"""The staff's and the liaison's homes on a 390x844 phone (headless Chromium): nothing overflows
sideways, the items open the pages they count, and the remind button works."""
from __future__ import annotations

import datetime as dt
import os

import pytest

from tests.browser.phone_browser import MARKS, log_in, phone
from tests.service_records import served
from timebank.core import clock

pytestmark = MARKS


def _shot(page, name):
    if os.environ.get("TIMEBANK_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["TIMEBANK_SCREENSHOTS"], f"{name}.png"),
                        full_page=True)


def _no_horizontal_overflow(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url} is {width} px wide"


@pytest.fixture(autouse=True)
def morning():
    """07:00 tomorrow (Asia/Shanghai): the day's sessions are still to come."""
    with clock.freeze(clock.local_datetime(clock.today() + dt.timedelta(days=1), dt.time(7))):
        yield


@pytest.fixture
def world(db, tree, make_post, make_member, member_of):
    """C1: a session today with one claim (long title and place), one tomorrow, a record to
    verify; U1: member without a form, with a long unit name."""
    from timebank.posts import operations as posts

    today = make_post(title="老年人理发服务（每月一次，地点在社区活动中心二楼多功能厅）",
                      place="社区活动中心二楼多功能厅（东侧电梯上楼右转）", capacity=3,
                      days=(0,))
    make_post(title="明日巡逻", capacity=2, days=(1,))
    make_post(title="下周义诊", capacity=4, days=(5,))
    a = make_member(name="甲一")
    posts.claim(a.user, a, today)
    served(tree.staff, a, clock.now() - dt.timedelta(days=1), 60, verify=False)
    served(tree.staff, member_of(tree.member), clock.now() - dt.timedelta(hours=2), 90)
    tree.U1.name = "区人民医院（含东院区、西院区及社区卫生服务中心）党委"
    db.session.commit()
    return today


def test_staff_home_on_a_phone(app, db, tree, browser, live_server, world):
    page = phone(browser, live_server)
    log_in(page, tree.staff)
    page.goto("/")
    page.wait_for_selector("#role-staff")
    _shot(page, "home-staff")
    _no_horizontal_overflow(page)
    session = page.locator("#sessions-today .home-session").first
    assert session.get_attribute("data-claimed") == "1"
    session.click()
    page.wait_for_url("**/posts/manage/sessions/*")
    assert page.locator("input[name=claim_ids]").count() == 1
    _no_horizontal_overflow(page)
    page.go_back()
    page.click("#staff-records")
    page.wait_for_url("**/posts/manage/records")
    assert page.locator(".record-row").count() == 1
    page.go_back()
    page.locator("#staff-unfilled .unfilled-post").first.click()
    page.wait_for_url("**/posts/manage/*")
    page.close()


def test_liaison_home_on_a_phone(app, db, tree, browser, live_server, world):
    page = phone(browser, live_server)
    log_in(page, tree.liaison)
    page.goto("/")
    page.wait_for_selector(f"#unit-{tree.U1.id}")
    # The card's member rows open too: still no sideways scrolling.
    page.locator(f"#card-{tree.U1.id} details summary").click()
    _shot(page, "home-liaison")
    _no_horizontal_overflow(page)
    assert "1.5 小时" in page.locator("#figure-verified_service_minutes").inner_text()

    page.locator(f"#unit-{tree.U1.id} .waiting-member .remind").first.click()
    page.wait_for_selector(".alert-success")
    assert "发送提醒" in page.locator(".alert-success").inner_text()
    assert page.locator(f"#unit-{tree.U1.id} .reminded").count() == 1
    _no_horizontal_overflow(page)

    page.click(f"#unit-{tree.U1.id}-form_missing")
    page.wait_for_url("**/members/unit?*state=form_missing*")
    assert page.locator("a[href$='/card']").count() >= 1
    page.go_back()
    page.click(f"#card-{tree.U1.id} .card-html")
    page.wait_for_url("**/reports/units/*/card?*")
    assert "表现反馈卡" in page.locator("h1").inner_text()
    _no_horizontal_overflow(page)
    page.close()


def test_admin_home_on_a_phone(app, db, tree, browser, live_server, world):
    page = phone(browser, live_server)
    log_in(page, tree.district_admin)
    page.goto("/")
    page.wait_for_selector(f"#scope-{tree.D.id}")
    _shot(page, "home-admin")
    _no_horizontal_overflow(page)
    page.locator(f"#scope-{tree.D.id} .lowest-active .lowest").first.click()
    page.wait_for_url(f"**/reports/dashboard?scope={tree.D.id}")
    page.go_back()
    page.locator(f"#scope-{tree.D.id} a[href='/measures/#reported_members']").click()
    page.wait_for_url("**/measures/#reported_members")
    page.close()
