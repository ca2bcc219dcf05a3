"""The team pages on a 390 px phone: no sideways scrolling, the members table as cards, and the
leader's team claim done with the phone's form."""
from __future__ import annotations

import os

from sqlalchemy import func, select

from tests.browser.phone_browser import MARKS, chromium, log_in, phone
from timebank.posts.models import Claim

pytestmark = MARKS
SHOTS = os.environ.get("TIMEBANK_SHOTS")  # a folder to keep screenshots in, when set


def _no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_team_pages_and_team_claim_on_a_phone(db, tree, live_server, make_team, make_member,
                                              make_post):
    mates = [make_member(name=f"队员{i}") for i in range(2)]
    team = make_team(tree.member, *(m.user for m in mates), name="甲社区电器维修服务队")
    post = make_post(capacity=4, title="社区义务维修")
    with chromium() as browser:
        page = phone(browser, live_server)
        log_in(page, tree.staff)
        page.goto("/teams/")
        assert page.locator(".team-card").count() == 1
        _no_sideways_scroll(page)
        page.goto(f"/teams/{team.id}")
        assert page.locator("table.team-members tbody tr").count() == 3
        assert page.locator("table.team-members thead").bounding_box()["height"] <= 1  # cards
        _no_sideways_scroll(page)
        if SHOTS:
            page.screenshot(path=f"{SHOTS}/team.png", full_page=True)
        page = phone(browser, live_server)
        log_in(page, tree.member)
        page.goto("/teams/mine")
        page.locator(".team-card").first.click()
        page.get_by_role("link", name="团队认领岗位名额").click()
        _no_sideways_scroll(page)
        page.locator("#session_id").select_option(str(post.sessions[0].id))
        for m in mates:
            page.get_by_label(m.user.name).check()
        page.get_by_role("button", name="为服务队认领").click()
        page.wait_for_url(f"**/teams/{team.id}")
        assert page.locator(".team-claims .card").count() == 1
        _no_sideways_scroll(page)
        if SHOTS:
            page.screenshot(path=f"{SHOTS}/team-claim.png", full_page=True)
    db.session.rollback()  # a fresh snapshot: the browser wrote through the server
    assert db.session.execute(select(func.count()).select_from(Claim)).scalar_one() == 2
