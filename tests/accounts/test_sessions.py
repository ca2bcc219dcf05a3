"""Sessions end when they should: logout, "log out everywhere", password and role changes. A
copy of the session cookie saved before must stop working (sessions are signed cookies, so only
the per-user session version stored in them can end them); API tokens end with the password."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD
from timebank.accounts import operations as accounts
from timebank.accounts.models import Role
from timebank.members.queries import member_for_user


def _saved_cookie(client) -> str:
    return client.get_cookie("session").value


def _replay(make_client, cookie: str):
    """Another browser that was handed a copy of the cookie."""
    other = make_client()
    other.set_cookie("session", cookie)
    return other


def _ledger_url(tree) -> str:
    return f"/ledger/members/{member_for_user(tree.member).id}"


def _token(client, user, password=PASSWORD) -> str:
    r = client.open("/api/v1/auth/token", method="POST",
                    json={"phone": user.phone, "password": password})
    assert r.status_code == 201, r.text
    return r.get_json()["token"]


def test_saved_cookie_works_while_logged_in(client, make_client, tree):
    client.login(tree.member)
    assert _replay(make_client, _saved_cookie(client)).get(_ledger_url(tree)).status_code == 200


def test_logout_ends_a_saved_copy_of_the_session(client, make_client, tree):
    client.login(tree.member)
    url = _ledger_url(tree)
    assert client.get(url).status_code == 200
    cookie = _saved_cookie(client)
    client.logout()
    replayed = _replay(make_client, cookie)
    r = replayed.get(url)
    assert r.status_code == 302 and "/auth/login" in r.location
    # The member can log in again as usual.
    client.login(tree.member)
    assert client.get(url).status_code == 200


def test_password_change_ends_a_saved_copy_of_the_session(client, make_client, tree):
    client.login(tree.member)
    cookie = _saved_cookie(client)
    r = client.post("/account", data={"current": PASSWORD, "new": "brand-new-pass-1",
                                      "confirm": "brand-new-pass-1"})
    assert r.status_code == 302
    assert client.get(_ledger_url(tree)).status_code == 200  # this browser was re-issued
    assert _replay(make_client, cookie).get(_ledger_url(tree)).status_code == 302


@pytest.mark.parametrize("change", ["assign", "revoke"])
def test_role_change_ends_the_sessions(client, make_client, db, tree, change):
    client.login(tree.staff)
    cookie = _saved_cookie(client)
    if change == "assign":
        accounts.assign_role(None, tree.staff, Role.COMMUNITY_STAFF, tree.C3)
    else:
        accounts.revoke_role(None, tree.staff.roles[0])
    db.session.commit()
    assert client.get("/").status_code == 302
    assert _replay(make_client, cookie).get("/").status_code == 302


def test_admin_changing_own_roles_keeps_this_session(client, db, tree):
    client.login(tree.district_admin)
    r = client.post(f"/orgs/{tree.C1.id}/roles",
                    data={"role-phone": tree.district_admin.phone,
                          "role-role": Role.COMMUNITY_STAFF.value})
    assert r.status_code == 302, r.text
    assert tree.district_admin.has_role(Role.COMMUNITY_STAFF)
    assert client.get("/").status_code == 200


def test_logout_everywhere_ends_sessions_and_api_tokens(client, make_client, tree):
    phone = make_client()
    phone.login(tree.member)
    app_client = make_client()  # a phone app: bearer token, no cookies
    token = _token(app_client, tree.member)
    headers = {"Authorization": f"Bearer {token}"}
    assert app_client.get("/api/v1/me/account", headers=headers).status_code == 200
    client.login(tree.member)
    page = client.get("/account")
    assert "退出所有设备" in page.text and 'action="/account/logout-everywhere"' in page.text
    cookie = _saved_cookie(client)
    r = client.post("/account/logout-everywhere")
    assert r.status_code == 302 and r.location == "/auth/login"
    client._csrf = None
    assert client.get("/").status_code == 302
    assert phone.get("/").status_code == 302
    assert _replay(make_client, cookie).get("/").status_code == 302
    r = app_client.get("/api/v1/me/account", headers=headers)
    assert r.status_code == 401 and r.get_json()["code"] == "unauthorized"


def test_logout_everywhere_needs_csrf(client, tree):
    client.login(tree.member)
    r = client.post("/account/logout-everywhere", data={}, csrf=False)
    assert r.status_code == 400
    assert client.get("/").status_code == 200


def test_password_change_revokes_api_tokens(client, make_client, db, tree):
    from timebank.api.models import ApiToken

    app_client = make_client()
    token = _token(app_client, tree.member)
    headers = {"Authorization": f"Bearer {token}"}
    assert app_client.get("/api/v1/me/account", headers=headers).status_code == 200
    client.login(tree.member)
    r = client.post("/account", data={"current": PASSWORD, "new": "brand-new-pass-1",
                                      "confirm": "brand-new-pass-1"})
    assert r.status_code == 302
    r = app_client.get("/api/v1/me/account", headers=headers)
    assert r.status_code == 401
    assert db.session.execute(select(ApiToken.revoked_at)).scalar_one() is not None
    # A token issued with the new password works.
    new = _token(app_client, tree.member, "brand-new-pass-1")
    assert app_client.get("/api/v1/me/account",
                          headers={"Authorization": f"Bearer {new}"}).status_code == 200


def test_plain_logout_leaves_api_tokens_alone(client, make_client, tree):
    app_client = make_client()
    token = _token(app_client, tree.member)
    client.login(tree.member)
    client.logout()
    assert app_client.get("/api/v1/me/account",
                      headers={"Authorization": f"Bearer {token}"}).status_code == 200
