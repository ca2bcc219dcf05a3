"""The JSON API: tokens, posts, claims, check-in, account; JSON errors with stable codes."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from timebank.core import clock
from timebank.posts import operations, qr
from timebank.posts.models import Claim


def test_token_login_and_logout(client, db, tree):
    from tests.conftest import PASSWORD

    r = client.open("/api/v1/auth/token", method="POST",
                    json={"phone": tree.member.phone, "password": "wrong-password"})
    assert r.status_code == 401 and r.get_json()["code"] == "unauthorized"
    r = client.open("/api/v1/auth/token", method="POST",
                    json={"phone": tree.member.phone, "password": PASSWORD})
    assert r.status_code == 201
    body = r.get_json()
    token = body["token"]
    assert body["user"]["name"] == tree.member.name
    assert "Set-Cookie" not in r.headers
    from timebank.api.models import ApiToken

    stored = db.session.execute(select(ApiToken)).scalar_one()
    assert stored.token_hash != token and len(stored.token_hash) == 64
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me/account", headers=headers).status_code == 200
    assert client.open("/api/v1/auth/token", method="DELETE", headers=headers).status_code == 204
    r = client.get("/api/v1/me/account", headers=headers)
    assert r.status_code == 401 and r.get_json()["code"] == "unauthorized"


def test_expired_token_and_session_cookie_are_refused(client, db, tree, token_for):
    token = token_for(tree.member)
    with clock.freeze(clock.now() + dt.timedelta(days=31)):
        r = client.get("/api/v1/me/account", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401
    client.login(tree.member)  # a browser session does not authorise the (CSRF-exempt) API
    assert client.get("/api/v1/me/account").status_code == 401


def test_list_posts_with_sessions_and_places(api, tree, make_post):
    own = make_post(title="甲社区岗位", capacity=4, days=(2, 9))
    make_post(community=tree.C3, title="丙社区岗位")
    r = api(tree.member).get("/api/v1/posts")
    assert r.status_code == 200
    body = r.get_json()
    assert body["total"] == 1
    post = body["items"][0]
    assert post["id"] == own.id and post["community_code"] == "C1"
    assert post["kind"]["code"] == "convenience-01" and post["category"]["code"] == "convenience"
    assert [(s["capacity"], s["places_left"]) for s in post["sessions"]] == [(4, 4), (4, 4)]
    assert post["sessions"][0]["start"].endswith("+08:00")
    assert api(tree.member).get(f"/api/v1/posts?kind_id={own.kind_id + 1}").get_json()[
        "total"] == 0


def test_claim_withdraw_and_errors(api, db, tree, make_post, make_member):
    post = make_post(capacity=1, days=(2, 3))
    member_api = api(tree.member)
    s1, s2 = post.sessions[0].id, post.sessions[1].id
    r = member_api.post(f"/api/v1/posts/{post.id}/claims", json={"session_id": s1})
    assert r.status_code == 201
    claim = r.get_json()["claims"][0]
    assert claim["session_id"] == s1 and claim["status"] == "active"
    r = member_api.post(f"/api/v1/posts/{post.id}/claims", json={"session_id": s1})
    assert (r.status_code, r.get_json()["code"]) == (409, "already_claimed")
    other = make_member()
    r = api(other.user).post(f"/api/v1/posts/{post.id}/claims", json={"session_id": s1})
    assert (r.status_code, r.get_json()["code"]) == (409, "post_full")
    assert r.get_json()["message"] == "名额已满。"
    r = api(other.user).post(f"/api/v1/posts/{post.id}/claims")  # the whole post
    assert r.status_code == 201
    assert [c["session_id"] for c in r.get_json()["claims"]] == [s2]
    assert r.get_json()["full_session_ids"] == [s1]
    mine = member_api.get("/api/v1/me/claims").get_json()["items"]
    assert [c["id"] for c in mine] == [claim["id"]]
    # Someone else's claim is not found; one's own is withdrawn.
    assert api(other.user).delete(f"/api/v1/claims/{claim['id']}").status_code == 404
    assert member_api.delete(f"/api/v1/claims/{claim['id']}").status_code == 204
    assert member_api.get("/api/v1/me/claims").get_json()["items"] == []
    r = member_api.post(f"/api/v1/posts/{post.id}/claims", json={"session_id": "x"})
    assert (r.status_code, r.get_json()["code"]) == (400, "invalid")
    r = member_api.post(f"/api/v1/posts/{post.id}/claims", json={"session_id": 99999})
    assert (r.status_code, r.get_json()["code"]) == (404, "not_found")


def test_deadline_cancelled_and_foreign_posts(api, db, tree, make_post):
    deadline = clock.now() + dt.timedelta(hours=1)
    late = make_post(claim_deadline=deadline)
    cancelled = make_post()
    operations.cancel(tree.staff, cancelled)
    db.session.commit()
    foreign = make_post(community=tree.C3)
    a = api(tree.member)
    with clock.freeze(deadline + dt.timedelta(minutes=1)):
        r = a.post(f"/api/v1/posts/{late.id}/claims")
        assert (r.status_code, r.get_json()["code"]) == (409, "deadline_passed")
    r = a.post(f"/api/v1/posts/{cancelled.id}/claims")
    assert (r.status_code, r.get_json()["code"]) == (409, "post_closed")
    for url in (f"/api/v1/posts/{foreign.id}", f"/api/v1/posts/{foreign.id}/claims"):
        r = a.get(url) if url.endswith(str(foreign.id)) else a.post(url)
        assert (r.status_code, r.get_json()["code"]) == (404, "not_found")


def test_non_members_are_forbidden(api, tree):
    r = api(tree.staff).get("/api/v1/me/claims")
    assert (r.status_code, r.get_json()["code"]) == (403, "forbidden")


def test_checkin_and_account(api, db, tree, make_post, member_of):
    post = make_post(days=(1,))
    session = post.sessions[0]
    member = member_of(tree.member)
    operations.claim(tree.member, member, post)
    db.session.commit()
    a = api(tree.member)
    token = qr.token_for(session)
    with clock.freeze(session.starts_at):
        r = a.post("/api/v1/checkins", json={"token": token})
        assert r.status_code == 200 and r.get_json()["action"] == "check_in"
    with clock.freeze(session.starts_at + dt.timedelta(minutes=100)):
        r = a.post("/api/v1/checkins", json={"token": token})
        body = r.get_json()
        assert body["action"] == "check_out" and body["record"]["minutes"] == 100
        r = a.post("/api/v1/checkins", json={"token": token})
        assert (r.status_code, r.get_json()["code"]) == (409, "conflict")
    r = a.post("/api/v1/checkins", json={"token": "not-a-token"})
    assert (r.status_code, r.get_json()["code"]) == (404, "not_found")
    from timebank.posts.models import ServiceRecord

    record = db.session.execute(select(ServiceRecord)).scalar_one()
    operations.verify(tree.staff, record)
    db.session.commit()
    account = a.get("/api/v1/me/account").get_json()
    assert (account["balance_minutes"], account["service_minutes"]) == (100, 100)
    statement = a.get("/api/v1/me/statement").get_json()
    assert statement["total"] == 1
    assert statement["items"][0]["amount_minutes"] == 100
    assert statement["items"][0]["balance_after_minutes"] == 100
    claims = a.get("/api/v1/me/claims").get_json()["items"]  # ends tomorrow: upcoming
    assert claims and claims[0]["record"]["status"] == "verified"
    assert db.session.execute(select(Claim.attendance)).scalar_one() == "attended"


def test_claims_and_checkins_are_rate_limited(app, api, tree, make_post, make_member):
    app.config["POSTS_CLAIM_LIMIT"] = "1 per minute"
    app.config["POSTS_CHECKIN_LIMIT"] = "1 per minute"
    post = make_post(days=(2, 3))
    a = api(tree.member)
    assert a.post(f"/api/v1/posts/{post.id}/claims",
                  json={"session_id": post.sessions[0].id}).status_code == 201
    r = a.post(f"/api/v1/posts/{post.id}/claims", json={"session_id": post.sessions[1].id})
    assert (r.status_code, r.get_json()["code"]) == (429, "rate_limited")
    # The budget is per user: someone else may still claim.
    other = make_member()
    assert api(other.user).post(f"/api/v1/posts/{post.id}/claims",
                                json={"session_id": post.sessions[1].id}).status_code == 201
    a.post("/api/v1/checkins", json={"token": "x"})
    assert a.post("/api/v1/checkins", json={"token": "x"}).status_code == 429


def test_claim_that_clashes_or_exceeds_the_month_has_its_own_code(api, db, tree, make_post,
                                                                  member_of):
    from timebank.members import operations as members

    member = member_of(tree.member)
    with clock.freeze(dt.datetime(2027, 3, 1, 1, 0, tzinfo=dt.timezone.utc)):
        first = make_post(days=(3,))
        clash = make_post(days=(3,))
        client = api(tree.member)
        assert client.post(f"/api/v1/posts/{first.id}/claims", json={}).status_code == 201
        r = client.post(f"/api/v1/posts/{clash.id}/claims", json={})
        assert r.status_code == 409 and r.get_json()["code"] == "time_conflict"
        assert r.get_json()["message"]
        members.save_profile(None, member, max_sessions_per_month=1)
        db.session.commit()
        weekly = make_post(days=(4, 5))
        r = client.post(f"/api/v1/posts/{weekly.id}/claims", json={})
        assert r.status_code == 409 and r.get_json()["code"] == "monthly_limit"
        members.save_profile(None, member, max_sessions_per_month=2)
        db.session.commit()
        r = client.post(f"/api/v1/posts/{weekly.id}/claims", json={})
        assert r.status_code == 201
        body = r.get_json()
        assert len(body["claims"]) == 1 and len(body["skipped_session_ids"]) == 1
