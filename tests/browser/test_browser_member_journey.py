"""A member's way through the platform on a phone, in headless Chromium (Playwright):
log in, find a post that fits, claim a session, see it under "my claims", check in and out with
the session's QR code; then the staff verify the record and the member's card shows the hours.
The server is the app in a thread (werkzeug) on the test database; the clock is frozen at each
step so the session's times line up."""
from __future__ import annotations

import datetime as dt
import os


from posts_fixtures import local_day
from tests.browser.phone_browser import MARKS, log_in, phone
from timebank.core import clock


pytestmark = MARKS








def test_member_claims_checks_in_and_sees_verified_hours(app, db, tree, browser, live_server,
                                                         make_post, member_of, catalogue):
    from playwright.sync_api import expect

    from timebank.members import operations as members
    from timebank.posts import qr

    skill = members.create_skill(tree.district_admin, "急救", "First aid")
    day = local_day(2)
    start = clock.local_datetime(day, dt.time(9))
    member = member_of(tree.member)
    members.save_profile(tree.member, member, skills=[skill],
                         availability=[(day.weekday(), "morning")])
    db.session.commit()
    fitting = make_post(title="社区急救培训", days=(2,), capacity=3, skill_ids=[skill.id])
    make_post(title="晚间巡逻", days=(2,), start="19:00", end="21:00")  # not when free
    session = fitting.sessions[0]
    with app.test_request_context(base_url=live_server):
        checkin_url = qr.checkin_url(session)

    page = phone(browser, live_server)
    with clock.freeze(start - dt.timedelta(days=1)):
        log_in(page, tree.member)
        page.goto("/posts/")
        expect(page.locator(".post-card")).to_have_count(2)
        page.check("#f-fits")
        page.click("#post-filters button[type=submit]")
        cards = page.locator(".post-card")
        expect(cards).to_have_count(1)
        expect(cards.first).to_contain_text("社区急救培训")
        expect(cards.first).to_contain_text("剩余 3 个名额")
        cards.first.click()
        page.click("button.claim-session")
        expect(page.locator(".alert-success")).to_contain_text("已认领 1 个场次")
        page.click(".navbar-toggler")  # the phone-sized menu
        page.click("nav >> text=我的认领")
        expect(page.locator("#upcoming-claims")).to_contain_text("社区急救培训")

    with clock.freeze(start - dt.timedelta(minutes=5)):
        page.goto(checkin_url)
        page.click("#do-checkin")
        expect(page.locator(".alert-success")).to_contain_text("签到成功")
    with clock.freeze(start + dt.timedelta(minutes=125)):
        page.goto(checkin_url)
        page.click("#do-checkout")
        expect(page.locator(".alert-success")).to_contain_text("签退成功")

        staff = phone(browser, live_server)
        log_in(staff, tree.staff)
        staff.goto("/posts/manage/records")
        row = staff.locator(".record-row", has_text=tree.member.name)
        expect(row).to_contain_text("2")
        row.locator("button", has_text="核实").click()
        expect(staff.locator(".alert-success")).to_contain_text("已核实")

        page.goto("/posts/card")
        expect(page.locator("#verified-hours")).to_have_text("2")
        expect(page.locator("#balance-hours")).to_have_text("2")
        if os.environ.get("TIMEBANK_SCREENSHOTS"):
            page.screenshot(path=os.path.join(os.environ["TIMEBANK_SCREENSHOTS"], "card.png"),
                            full_page=True)
        expect(page.locator("#card-rows")).to_contain_text("社区急救培训")
