"""The teams demo step on the demo district: three teams per street with leaders and members,
the demo member leads a team and made a team claim."""
from __future__ import annotations

from sqlalchemy import func, select

from timebank import demo
from timebank.teams.models import Team, TeamClaim, TeamMembership


def test_demo_step(app, db, client, monkeypatch):
    if "teams" not in demo.FEATURE_STEPS:
        monkeypatch.setattr(demo, "FEATURE_STEPS", (*demo.FEATURE_STEPS, "teams"))
    demo.seed()
    db.session.commit()
    teams = list(db.session.execute(select(Team)).scalars())
    assert len(teams) == 3 * len(demo.STREETS)
    leaders = db.session.execute(select(func.count()).select_from(TeamMembership).where(
        TeamMembership.role == "leader", TeamMembership.left_on.is_(None))).scalar_one()
    assert leaders == len(teams)
    assert db.session.execute(select(func.count()).select_from(TeamMembership)).scalar_one() \
        >= 6 * len(teams)
    claim = db.session.execute(select(TeamClaim)).scalar_one()
    assert len(claim.places) == 3
    client.login("13800000005", demo.DEMO_PASSWORD)
    page = client.get("/teams/mine").get_data(as_text=True)
    assert "网格志愿者服务队" in page and "队长" in page
    page = client.get(f"/teams/{claim.team_id}").get_data(as_text=True)
    assert "团队认领记录" in page
    client.login("13800000003", demo.DEMO_PASSWORD)
    page = client.get("/teams/").get_data(as_text=True)
    assert "离退休党员服务队" in page
