"""The member's side on a 390x844 phone (headless Chromium): the home's figures against the
database, the statement's order with nothing overflowing sideways, and a certificate downloaded,
its QR decoded and the verification page opened (valid, then revoked)."""
from __future__ import annotations

import datetime as dt
import os

import pytest
from sqlalchemy import func, select

from posts_fixtures import local_day
from tests.service_records import decode_qr, served
from timebank.core import clock

from tests.browser.phone_browser import MARKS, log_in
from tests.browser.phone_browser import phone as _phone

pytestmark = MARKS








def phone(browser, base_url):
    return _phone(browser, base_url, accept_downloads=True)


def _shot(page, name):
    if os.environ.get("TIMEBANK_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["TIMEBANK_SCREENSHOTS"], f"{name}.png"),
                        full_page=True)


def _no_horizontal_overflow(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page is {width} px wide"


@pytest.fixture
def history(db, tree, member_of, make_post, catalogue):
    """member: 3 verified records posted out of service-date order, one pending, a claimed
    session in 2 days and a skill fitting another post."""
    from timebank.members import operations as members
    from timebank.posts import operations

    m = member_of(tree.member)
    now = clock.now()
    post = make_post(title="老年人理发服务（每月一次，地点在社区活动中心二楼）",
                     place="社区活动中心二楼多功能厅", days=(2,))
    served(tree.staff, m, now - dt.timedelta(days=3), 120, post=post)
    served(tree.staff, m, now - dt.timedelta(days=30), 60, post=post)
    served(tree.staff, m, now - dt.timedelta(days=9), 90, post=post)
    served(tree.staff, m, now - dt.timedelta(days=1), 45, verify=False)
    operations.claim(tree.member, m, post)
    skill = members.create_skill(tree.district_admin, "理发", "Haircut")
    members.save_profile(tree.member, m, skills=[skill],
                         availability=[(local_day(d).weekday(), slot) for d in range(1, 8)
                                       for slot in ("morning", "afternoon", "evening")])
    db.session.commit()
    make_post(title="义务理发进社区", days=(5,), skill_ids=[skill.id])
    return m


def test_home_statement_and_certificate_on_a_phone(app, db, tree, browser, live_server,
                                                   history, tmp_path):
    from playwright.sync_api import expect

    from timebank.certificates.models import Certificate
    from timebank.ledger import queries
    from timebank.ledger.models import Account, Posting, Transaction
    from timebank.ledger.util import format_hours

    m = history
    acct = db.session.execute(select(Account).where(Account.member_id == m.id)).scalar_one()
    balance = db.session.execute(select(func.sum(Posting.amount)).where(
        Posting.account_id == acct.id)).scalar_one()
    total = db.session.execute(select(func.sum(Transaction.service_minutes)).where(
        Transaction.service_account_id == acct.id)).scalar_one()
    start, end = clock.local_year_bounds(clock.today().year)
    year = db.session.execute(select(func.coalesce(func.sum(Transaction.service_minutes), 0))
                              .where(Transaction.service_account_id == acct.id,
                                     Transaction.created_at >= start,
                                     Transaction.created_at < end)).scalar_one()
    db.session.commit()

    page = phone(browser, live_server)
    log_in(page, tree.member)
    expect(page.locator("#year-hours")).to_have_text(format_hours(int(year)))
    expect(page.locator("#total-hours")).to_have_text(format_hours(int(total)))
    expect(page.locator("#balance-hours")).to_have_text(format_hours(int(balance)))
    expect(page.locator("#pending-count")).to_have_text("1")
    expect(page.locator("#unread-count")).to_have_text("0")
    expect(page.locator("#next-session")).to_contain_text("老年人理发服务")
    expect(page.locator("#next-session button", has_text="取消认领")).to_be_visible()
    expect(page.locator("#star-to-go")).to_contain_text("再服务")
    recommended = page.locator(".recommended-post", has_text="义务理发进社区")
    expect(recommended).to_contain_text("您登记了理发特长")
    expect(recommended).to_contain_text("就在您报到的社区")
    box = page.locator("#next-session .btn-lg").first.bounding_box()
    assert box["height"] >= 44  # a thumb-sized target
    _no_horizontal_overflow(page)
    _shot(page, "member-home")

    # The statement: cards, newest service first, nothing wider than the phone.
    page.goto(f"/ledger/members/{m.id}")
    cards = page.locator(".statement-card")
    expect(cards).to_have_count(3)
    expect(page.locator(".statement-table")).to_be_hidden()
    wanted = [str(e.transaction_id) for e in queries.statement(m, 1, 20).items]
    assert [cards.nth(i).get_attribute("data-entry") for i in range(3)] == wanted
    dates = [cards.nth(i).locator(".text-muted").first.inner_text() for i in range(3)]
    assert dates == sorted(dates, reverse=True)
    _no_horizontal_overflow(page)
    _shot(page, "statement")

    # The certificate: issued for this year, downloaded, its QR opens the verify page.
    page.goto("/certificates/")
    page.fill("#start", (clock.today() - dt.timedelta(days=60)).isoformat())
    page.fill("#end", clock.today().isoformat())
    page.click("#issue-form button[type=submit]")
    expect(page.locator(".alert-success")).to_contain_text("已出具证明")
    _no_horizontal_overflow(page)
    with page.expect_download() as info:
        page.click(".certificate-item a.download")
    path = tmp_path / "certificate.pdf"
    info.value.save_as(path)
    url = decode_qr(path.read_bytes())
    db.session.rollback()  # a fresh snapshot: the server wrote the certificate
    cert = db.session.execute(select(Certificate)).scalar_one()
    assert url == f"{live_server}/verify/{cert.code}"
    assert cert.total_minutes == 270

    visitor = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  locale="zh-CN").new_page()
    visitor.goto(url)
    expect(visitor.locator("#cert-status")).to_contain_text("此证明有效")
    expect(visitor.locator("#cert-hash")).to_have_text(cert.sha256)
    expect(visitor.locator("#cert-hours")).to_have_text("4.5")
    _no_horizontal_overflow(visitor)
    _shot(visitor, "verify")

    staff = phone(browser, live_server)
    log_in(staff, tree.staff)
    staff.goto(url)
    staff.fill("#reason", "信息有误")
    staff.once("dialog", lambda d: d.accept())
    staff.click("#revoke")
    expect(staff.locator(".alert-success")).to_contain_text("证明已撤销")
    visitor.reload()
    expect(visitor.locator("#cert-status")).to_contain_text("已被出具单位撤销")
