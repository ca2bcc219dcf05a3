"""Command line: import a file, rebuild search keys; the login page links to registration."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from timebank.members.models import Member

DATA = Path(__file__).resolve().parent.parent / "data"


def test_cli_import_and_reindex(app, db, district, tmp_path):
    tree = district
    runner = app.test_cli_runner()
    result = runner.invoke(args=["members", "import", str(DATA / "members_sample.csv"),
                                 "--community", "C1"])
    assert result.exit_code == 0, result.output
    assert "20 created" in result.output
    db.session.expire_all()
    count = db.session.execute(select(func.count()).select_from(Member).where(
        Member.community_id == tree.C1.id)).scalar_one()
    assert count == 21
    bad = tmp_path / "bad.csv"
    bad.write_text("姓名,手机号,身份证号\n张三,123,110105198001010016\n", encoding="utf-8")
    result = runner.invoke(args=["members", "import", str(bad), "--community", "C1"])
    assert result.exit_code == 1 and "第2行" in result.output
    result = runner.invoke(args=["members", "import", str(bad), "--community", "NOPE"])
    assert result.exit_code == 2
    db.session.execute(Member.__table__.update().values(name_initials=""))
    db.session.commit()
    result = runner.invoke(args=["members", "reindex"])
    assert result.exit_code == 0
    assert db.session.execute(select(func.count()).select_from(Member).where(
        Member.name_initials == "")).scalar_one() == 0


def test_login_page_links_to_registration(client):
    page = client.get("/auth/login").text
    assert "/members/register" in page and "报到" in page
