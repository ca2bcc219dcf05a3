"""The command line: first admin, demo data, codes accepted everywhere."""
import subprocess
import sys

from sqlalchemy import func, select

from timebank.accounts.models import RoleAssignment, User
from timebank.members.models import Member
from timebank.orgs.models import OrgNode


def test_users_create_first_admin(app, db, tree):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "--phone", "13511112222", "--name", "首位管理员",
                                 "--role", "district_admin", "--org", "D", "--password-stdin"],
                           input="long-enough-pw\n")
    assert result.exit_code == 0, result.output
    user = db.session.execute(select(User).where(User.phone == "13511112222")).scalar_one()
    assert user.has_role("district_admin", tree.D)
    client = app.test_client()
    assert client.login(user, "long-enough-pw").status_code == 302


def test_users_create_member_is_approved(app, db, tree):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "--phone", "13511113333", "--name", "新党员",
                                 "--role", "member", "--org", "C2", "--password-stdin"],
                           input="long-enough-pw\n")
    assert result.exit_code == 0, result.output
    member = db.session.execute(select(Member).join(User, Member.user_id == User.id).where(
        User.phone == "13511113333")).scalar_one()
    assert member.status == "approved" and member.community_id == tree.C2.id


def test_users_create_refuses_bad_input_and_writes_nothing(app, db, tree):
    runner = app.test_cli_runner()
    before = db.session.execute(select(func.count()).select_from(User)).scalar_one()
    bad = [
        ["--phone", "12345", "--name", "x", "--role", "member", "--org", "C1"],
        ["--phone", "13511114444", "--name", "x", "--role", "member", "--org", "NOPE"],
        # A street admin role cannot be held on a community.
        ["--phone", "13511114444", "--name", "x", "--role", "street_admin", "--org", "C1"],
    ]
    for args in bad:
        result = runner.invoke(args=["users", "create", *args, "--password-stdin"],
                               input="long-enough-pw\n")
        assert result.exit_code == 2, result.output
    short = runner.invoke(args=["users", "create", "--phone", "13511114444", "--name", "x",
                                "--role", "member", "--org", "C1", "--password-stdin"],
                          input="short\n")
    assert short.exit_code == 2
    db.session.rollback()
    assert db.session.execute(select(func.count()).select_from(User)).scalar_one() == before


def test_seed_demo_builds_the_demo_district_once(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "13800000001" in result.output and "demo12345" in result.output
    count = lambda kind: db.session.execute(  # noqa: E731
        select(func.count()).where(OrgNode.kind == kind)).scalar_one()
    assert (count("street"), count("community"), count("unit")) == (4, 12, 30)
    assert 36 <= count("grid") <= 48
    roles = {r for (r,) in db.session.execute(select(RoleAssignment.role).distinct())}
    assert roles == {"district_admin", "street_admin", "community_staff", "unit_liaison", "member"}
    members = db.session.execute(select(func.count()).select_from(Member)).scalar_one()
    assert 280 <= members <= 400
    # Every demo login works with the shared password.
    client = app.test_client()
    for phone in ("13800000001", "13800000002", "13800000003", "13800000004", "13800000005"):
        client.login(phone, "demo12345")
        client.logout()
    # A second run refuses; --if-empty is a no-op.
    assert runner.invoke(args=["seed-demo"]).exit_code == 2
    assert runner.invoke(args=["seed-demo", "--if-empty"]).exit_code == 0


def test_console_script_and_flask_app_both_work(tmp_path):
    env = {"TIMEBANK_INSTANCE_PATH": str(tmp_path), "PATH": "/usr/bin:/bin",
           "TIMEBANK_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"}
    bindir = sys.executable.rsplit("/", 1)[0]
    for cmd in ([f"{bindir}/timebank", "--help"], [f"{bindir}/flask", "--app", "wsgi", "--help"]):
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
        for command in ("seed-demo", "scheduler", "users", "db", "run"):
            assert command in out
    # The secret key is generated once into the instance folder and kept.
    assert (tmp_path / "secret_key").read_text()


def test_orgs_add_builds_a_new_installation(app, db):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["orgs", "add", "--kind", "district", "--code", "310101",
                               "--name", "新区"]).exit_code == 0
    r = runner.invoke(args=["orgs", "add", "--kind", "street", "--name", "一街", "--parent",
                            "310101"])
    assert r.exit_code == 0 and "310101001" in r.output
    # A grid cannot hang under a district.
    assert runner.invoke(args=["orgs", "add", "--kind", "grid", "--name", "x", "--parent",
                               "310101"]).exit_code == 2
    listing = runner.invoke(args=["orgs", "list"]).output
    assert "310101001  一街  [street]" in listing
