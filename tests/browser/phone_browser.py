"""What every browser test does the same way: launch headless Chromium, open a 390x844 phone
page, log in through the form."""
from __future__ import annotations

import contextlib
import os
import re

import pytest

from tests.conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

#: For a test module: marks it a browser test, skipped where Chromium is missing.
MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"{CHROMIUM} is not installed (apt-get install chromium; "
                              ".ci/run installs it)"),
]


@contextlib.contextmanager
def chromium(*extra_args: str):
    """Headless Chromium with the common flags and ``extra_args`` (e.g. a fake camera)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=[*ARGS, *extra_args])
        try:
            yield browser
        finally:
            browser.close()


def phone(browser, base_url, *, permissions=(), timeout=15000, **context_kw):
    """A new page in a 390x844 phone context (Chinese, touch); ``context_kw`` go to
    ``new_context`` (e.g. ``accept_downloads``, ``geolocation``)."""
    context = browser.new_context(base_url=base_url, viewport={"width": 390, "height": 844},
                                  device_scale_factor=2, is_mobile=True, has_touch=True,
                                  locale="zh-CN", **context_kw)
    if permissions:
        context.grant_permissions(list(permissions), origin=base_url)
    context.set_default_timeout(timeout)
    return context.new_page()


def log_in(page, user):
    page.goto("/auth/login")
    page.fill("input[name=phone]", user.phone)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))
