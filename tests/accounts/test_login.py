"""Login: one message for every failure, throttling, safe redirects, CSRF, session renewal."""
import re

import pytest

from tests.conftest import PASSWORD


def _login(client, phone, password, **extra):
    return client.post("/auth/login", data={"phone": phone, "password": password, **extra})


def test_login_success_redirects_home(client, tree):
    response = _login(client, tree.staff.phone, PASSWORD)
    assert response.status_code == 302
    assert response.location == "/"


def test_unknown_user_and_wrong_password_get_the_same_answer(client, tree):
    unknown = _login(client, "13912345678", PASSWORD)
    wrong = _login(client, tree.staff.phone, "wrong-password")
    assert unknown.status_code == wrong.status_code == 400

    def message(r):
        return re.search(r'<div class="alert[^>]*>\s*(.*?)\s*<button', r.text, re.S).group(1)

    assert message(unknown) == message(wrong) == "手机号或密码错误。"


def test_full_width_phone_is_accepted(client, tree):
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in tree.staff.phone)
    assert _login(client, full_width, PASSWORD).status_code == 302


def test_inactive_user_cannot_log_in(client, db, tree):
    tree.staff.active = False
    db.session.commit()
    assert _login(client, tree.staff.phone, PASSWORD).status_code == 400


def test_throttled_per_account(app, client, tree):
    for _ in range(5):
        assert _login(client, tree.staff.phone, "nope-nope").status_code == 400
    # Sixth attempt is refused even with the right password, from the same address...
    assert _login(client, tree.staff.phone, PASSWORD).status_code == 429
    # ...and from another address too: the limit follows the account.
    other = app.test_client()
    other.environ_base = {"REMOTE_ADDR": "10.0.0.9"}
    assert _login(other, tree.staff.phone, PASSWORD).status_code == 429
    # Another account from the first address is not affected.
    assert _login(client, tree.district_admin.phone, PASSWORD).status_code == 302


def test_throttled_per_address(app, client, tree):
    app.config["LOGIN_LIMIT_PER_ADDRESS"] = "3 per 15 minutes"
    for i in range(3):
        assert _login(client, f"1391234567{i}", "nope-nope").status_code == 400
    assert _login(client, tree.staff.phone, PASSWORD).status_code == 429


def test_successful_logins_do_not_count(client, tree):
    for _ in range(8):
        assert _login(client, tree.staff.phone, PASSWORD).status_code == 302


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)",
    "http:/evil.example", "\\\\evil.example",
])
def test_open_redirect_refused(client, tree, target):
    response = _login(client, tree.staff.phone, PASSWORD, next=target)
    assert response.status_code == 302
    assert response.location == "/"


def test_local_next_is_followed(client, tree):
    response = _login(client, tree.staff.phone, PASSWORD, next="/orgs/")
    assert response.location == "/orgs/"


def test_login_without_csrf_token_is_refused(client, tree):
    response = client.post("/auth/login", data={"phone": tree.staff.phone, "password": PASSWORD},
                           csrf=False)
    assert response.status_code == 400
    assert "表单已过期或无效" in response.text


def test_forged_csrf_token_is_refused(client, tree):
    client.login(tree.district_admin)
    response = client.post(f"/orgs/{tree.C1.id}/rename",
                           data={"rename-name": "被篡改", "csrf_token": "forged"})
    assert response.status_code == 400


def test_session_is_renewed_at_login(client, tree):
    with client.session_transaction() as s:
        s["planted"] = "by attacker"
    client.login(tree.staff)
    with client.session_transaction() as s:
        assert "planted" not in s


def test_password_change_ends_other_sessions(app, client, make_client, tree):
    other = make_client()
    other.login(tree.staff)
    client.login(tree.staff)
    r = client.post("/account", data={"current": PASSWORD, "new": "brand-new-pass-1",
                                      "confirm": "brand-new-pass-1"})
    assert r.status_code == 302
    assert client.get("/").status_code == 200  # this session was re-issued
    assert other.get("/").status_code == 302  # the other one is logged out


def test_cookie_flags(app, tree):
    app.config["SESSION_COOKIE_SECURE"] = True
    client = app.test_client()
    r = client.post("/auth/login", data={"phone": tree.staff.phone, "password": PASSWORD})
    cookie = [h for h in r.headers.getlist("Set-Cookie") if h.startswith("session=")][0]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie


def test_logout_requires_post_and_logs_out(client, tree):
    client.login(tree.staff)
    assert client.get("/auth/logout").status_code == 405
    client.logout()
    assert client.get("/").status_code == 302


def _token_attempt(client, phone, password):
    return client.open("/api/v1/auth/token", method="POST",
                       json={"phone": phone, "password": password})


def test_form_and_api_share_one_budget_per_phone(app, client, tree):
    """Guesses through the form and the API token endpoint count together: 3 + 2 of 5."""
    for _ in range(3):
        assert _login(client, tree.staff.phone, "nope-nope").status_code == 400
    for _ in range(2):
        assert _token_attempt(client, tree.staff.phone, "nope-nope").status_code == 401
    assert _token_attempt(client, tree.staff.phone, PASSWORD).status_code == 429
    assert _login(client, tree.staff.phone, PASSWORD).status_code == 429
    # Another phone from another address still has its budget.
    other = app.test_client()
    other.environ_base = {"REMOTE_ADDR": "10.0.0.9"}
    assert _token_attempt(other, tree.member.phone, PASSWORD).status_code == 201


def test_form_and_api_share_one_budget_per_address(app, client, tree):
    app.config["LOGIN_LIMIT_PER_ADDRESS"] = "4 per 15 minutes"
    for i in range(2):
        assert _login(client, f"1391234567{i}", "nope-nope").status_code == 400
    for i in range(2, 4):
        assert _token_attempt(client, f"1391234567{i}", "nope-nope").status_code == 401
    assert _login(client, tree.staff.phone, PASSWORD).status_code == 429
    assert _token_attempt(client, tree.staff.phone, PASSWORD).status_code == 429
