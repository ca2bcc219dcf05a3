"""Password rules, wherever a password is set: at least 8 characters, not a common password
(the shipped list), not the demo password, not containing the account's phone number."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.conftest import PASSWORD
from timebank.accounts import operations as accounts
from timebank.accounts import passwords
from timebank.accounts.models import User
from timebank.core.errors import Invalid

PHONE = "13912345678"
WEAK = ["12345678", "password", "PassWord", "11111111", "qwertyuiop", "woaini1314",
        passwords.DEMO_PASSWORD, PHONE, f"x{PHONE}y", "139-1234-5678"]


def test_the_list_ships_with_the_package():
    common = passwords.common_passwords()
    assert len(common) >= 10_000
    assert {"12345678", "password", "11111111", "iloveyou"} <= common


@pytest.mark.parametrize("password", WEAK)
def test_weak_passwords_are_refused(app, password):
    with pytest.raises(Invalid) as e:
        passwords.check(password, PHONE)
    assert e.value.details["field"] == "password"
    assert any("\u4e00" <= c <= "\u9fff" for c in str(e.value.message))  # said in Chinese


@pytest.mark.parametrize("password", [PASSWORD, "secret-pass-1", "长城长城长城长城",
                                      "a very long passphrase " * 8])
def test_good_passwords_pass(password):
    passwords.check(password, PHONE)


def test_short_password_still_refused():
    with pytest.raises(Invalid):
        passwords.check("Zq9!x", PHONE)


def test_create_user_refuses_a_common_password(db):
    with pytest.raises(Invalid):
        accounts.create_user(None, PHONE, "王五", "password")
    with pytest.raises(Invalid):
        accounts.create_user(None, PHONE, "王五", PHONE + "!")
    assert db.session.execute(select(func.count()).select_from(User)).scalar_one() == 0


def test_password_change_refuses_phone_and_demo_password(client, db, tree):
    client.login(tree.member)
    for new in (tree.member.phone + "aa", passwords.DEMO_PASSWORD, "12345678"):
        r = client.post("/account", data={"current": PASSWORD, "new": new, "confirm": new})
        assert r.status_code == 200 and "密码" in r.text
        assert accounts.authenticate(tree.member.phone, PASSWORD) is not None
    assert "该密码过于常见" in r.text


def test_staff_created_account_refuses_a_common_password(client, db, tree):
    client.login(tree.staff)
    r = client.post(f"/orgs/{tree.C1.id}/roles",
                    data={"role-phone": "13955556666", "role-name": "新党员",
                          "role-role": "member", "role-password": "password"})
    assert r.status_code == 400
    assert "该密码过于常见" in r.text
    assert accounts.find_by_phone("13955556666") is None


def test_cli_refuses_a_common_password(app, db, tree):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "--phone", "13955556666", "--name", "x", "--role", "member",
              "--org", "C1", "--password-stdin"], input="12345678\n")
    assert result.exit_code == 2, result.output
    db.session.rollback()
    assert accounts.find_by_phone("13955556666") is None
