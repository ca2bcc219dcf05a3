"""Finding a post on a 390x844 phone: a Chinese keyword and pinyin initials in the search box,
and the share poster downloaded from the post's page."""
from __future__ import annotations

from tests.browser.phone_browser import MARKS, log_in, phone

pytestmark = MARKS


def _results(page) -> list[str]:
    return page.locator(".post-card h2").all_inner_texts()


def test_search_by_chinese_word_and_initials_on_a_phone(tree, browser, live_server, make_post):
    make_post(title="社区理发", kind="culture-01")
    make_post(title="陪老人下棋", kind="culture-06")
    page = phone(browser, live_server, accept_downloads=True)
    log_in(page, tree.member)
    page.goto("/posts/")
    assert sorted(_results(page)) == ["社区理发", "陪老人下棋"]
    for query in ("理发", "lf"):
        page.fill("#f-q", query)
        page.press("#f-q", "Enter")
        page.wait_for_load_state()
        assert _results(page) == ["社区理发"], query
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.fill("#f-q", "xq")
    page.click("#post-filters button[type=submit] >> nth=0")
    page.wait_for_load_state()
    assert _results(page) == ["陪老人下棋"]
    page.click(".post-card")
    page.wait_for_selector("#poster-download")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    with page.expect_download() as download:
        page.click("#poster-download")
    with open(download.value.path(), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
