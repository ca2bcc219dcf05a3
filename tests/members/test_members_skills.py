"""The skills vocabulary, curated by district admins."""
from __future__ import annotations

from sqlalchemy import select

from timebank.members.models import Skill


def test_district_admin_curates_skills(client, db, tree):
    client.login(tree.district_admin)
    assert client.get("/members/skills").status_code == 200
    r = client.post("/members/skills", data={"new-name": "手语", "new-name_en": "Sign language"})
    assert r.status_code == 302
    skill = db.session.execute(select(Skill).where(Skill.name == "手语")).scalar_one()
    assert skill.code and skill.active
    # Duplicate names are refused.
    assert client.post("/members/skills", data={"new-name": "手语"}).status_code == 400
    r = client.post(f"/members/skills/{skill.id}", data={
        f"s{skill.id}-name": "手语翻译", f"s{skill.id}-name_en": "Sign language"})
    assert r.status_code == 302
    db.session.expire_all()
    skill = db.session.get(Skill, skill.id)
    assert skill.name == "手语翻译" and not skill.active  # unticked box: retired
    page = client.get("/members/skills").text
    assert "手语翻译" in page


def test_only_district_admins(client, tree):
    client.login(tree.street_admin)
    assert client.post("/members/skills", data={"new-name": "手语"}).status_code == 403
