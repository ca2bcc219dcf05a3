"""The contract failures of the attack run, one by one (issue 19, item 11)."""
from __future__ import annotations


def test_undeclared_method_says_which_are_allowed(api, client, tree):
    for method, path, allowed in [("TRACE", "/api/v1/posts", "GET, HEAD, OPTIONS"),
                                  ("PUT", "/api/v1/me/account", "GET, HEAD, OPTIONS"),
                                  ("GET", "/api/v1/checkins", "OPTIONS, POST")]:
        r = client.open(path, method=method, headers=api(tree.member).headers)
        assert r.status_code == 405, (method, path)
        assert r.headers["Allow"] == allowed
        assert r.get_json()["code"] == "method_not_allowed"


def test_query_must_be_declared_once_and_not_empty(api, tree):
    a = api(tree.member)
    assert a.get("/api/v1/posts?per_page=5").status_code == 200
    for query, field in [("pages=2", "pages"), ("per_page=", "per_page"),
                         ("page=1&page=2", "page"), ("fits=1", "fits"),
                         ("date=2026-13-01", "date")]:
        r = a.get(f"/api/v1/posts?{query}")
        assert r.status_code == 400, query
        assert r.get_json()["code"] == "invalid"
    r = a.get("/api/v1/me/claims?scope=upcoming&scope=past")
    assert r.status_code == 400


def test_any_calendar_date_is_a_valid_filter(api, tree):
    a = api(tree.member)
    for day in ("1900-01-22", "0001-01-01", "9999-12-31", "2026-12-05"):
        r = a.get(f"/api/v1/posts?date={day}")
        assert r.status_code == 200, day
        assert r.get_json()["total"] == 0


def test_bad_checkin_token_is_not_found_and_null_session_is_refused(api, tree, make_post):
    a = api(tree.member)
    r = a.post("/api/v1/checkins", json={"token": "00", "action": "check_in"})
    assert r.status_code == 404 and r.get_json()["code"] == "not_found"
    post = make_post(capacity=3)
    r = a.post(f"/api/v1/posts/{post.id}/claims", json={"session_id": None})
    assert r.status_code == 400 and r.get_json()["code"] == "invalid"
