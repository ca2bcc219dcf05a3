"""A member sets where messages go and their quiet hours, on a phone (390 x 844)."""
from __future__ import annotations

import datetime as dt

from notify_fixtures import notify_config, smtp_server, tls_files, wecom_server  # noqa: F401

from tests.browser.phone_browser import MARKS, log_in, phone

pytestmark = MARKS


def test_member_saves_notification_settings_on_a_phone(app, db, tree, live_server, request):
    from playwright.sync_api import expect

    # Fixtures imported from other folders, looked up by name (parameters would shadow them).
    fixture = request.getfixturevalue

    from timebank.notify.models import DeliveryPreference

    fixture("notify_config")(smtp=fixture("smtp_server"), wecom=fixture("wecom_server"))
    page = phone(fixture("browser"), live_server)
    log_in(page, tree.member)
    page.goto("/inbox/")
    page.click("text=通知设置")
    expect(page.locator("h1")).to_have_text("通知设置")
    page.check("input[value=email]")
    page.click("main button[type=submit]")
    expect(page.locator(".invalid-feedback")).to_contain_text("请填写接收消息的电子邮箱")
    page.check("input[value=wecom]")
    page.fill("input[name=email]", "jia@example.org")
    page.fill("input[name=quiet_start]", "22:00")
    page.fill("input[name=quiet_end]", "07:00")
    page.click("main button[type=submit]")
    expect(page.locator(".alert-success")).to_contain_text("通知设置已保存")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    db.session.rollback()  # a new snapshot: the server wrote in its own thread
    pref = db.session.get(DeliveryPreference, tree.member.id)
    assert (pref.channels, pref.email, pref.quiet_start, pref.quiet_end) == (
        "email,wecom", "jia@example.org", dt.time(22), dt.time(7))
