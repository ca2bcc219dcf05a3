"""Downloads are rate-limited per user, with one budget across every export page."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

#: URL suffixes of routes that answer with a file.
DOWNLOAD = re.compile(r"\.(xlsx|csv|pdf)$|\.<fmt>$")


@pytest.fixture
def limited(app):
    app.config["EXPORT_LIMIT"] = "3 per minute"
    return app


def _member_id(db, user):
    from timebank.members.models import Member

    return db.session.execute(select(Member.id).where(Member.user_id == user.id)).scalar_one()


def test_exports_over_the_limit_get_429_in_chinese(limited, client, db, tree):
    m = _member_id(db, tree.member)
    client.login(tree.member)
    for url in (f"/ledger/members/{m}/statement.xlsx", f"/ledger/members/{m}/statement.pdf",
                "/posts/card.xlsx"):
        assert client.get(url).status_code == 200, url
    # The budget is shared: any further download is refused, whichever page it is.
    r = client.get(f"/ledger/members/{m}/statement.xlsx")
    assert r.status_code == 429
    assert "下载过于频繁" in r.text
    assert client.get("/posts/card.xlsx").status_code == 429
    # Pages are not downloads.
    assert client.get(f"/ledger/members/{m}").status_code == 200


def test_the_limit_is_per_user(limited, make_client, db, tree):
    first, second = make_client(), make_client()
    first.login(tree.staff)
    second.login(tree.street_admin)
    for _ in range(3):
        assert first.get("/members/export.xlsx").status_code == 200
    assert first.get("/members/export.xlsx").status_code == 429
    assert second.get("/members/export.xlsx").status_code == 200
    assert second.get(f"/reports/dashboard.xlsx?scope={tree.S1.id}").status_code == 200


def test_a_card_page_does_not_use_the_budget(limited, client, tree):
    client.login(tree.liaison)
    for _ in range(5):
        assert client.get(f"/reports/units/{tree.U1.id}/card").status_code == 200
    assert client.get(f"/reports/units/{tree.U1.id}/card.xlsx").status_code == 200


def test_every_download_route_is_limited(app, client, db, tree):
    """Walk the URL map: once the budget is spent, every file route answers 429 (the limit is
    checked before the view, so ids need not exist)."""
    app.config["EXPORT_LIMIT"] = "1 per minute"
    client.login(tree.district_admin)
    rules = [r for r in app.url_map.iter_rules() if DOWNLOAD.search(r.rule)]
    assert len(rules) >= 12
    assert client.get("/members/export.xlsx").status_code == 200
    for rule in rules:
        url = re.sub(r"<(?:[^>:]+:)?fmt>", "csv", rule.rule)
        url = re.sub(r"<[^>]+>", "1", url)
        assert client.get(url).status_code == 429, rule.rule
