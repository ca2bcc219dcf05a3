"""Teams: creation and enrolment through the pages (bad input re-displays in Chinese, nothing
written), scope (another community's staff get 404), a member sees only their own teams, the
team page's figures (the measures over the current members)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from tests.service_records import served
from timebank.core import clock
from timebank.teams.models import Team, TeamMembership


def _count(db, model):
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_staff_create_a_team_with_its_leader(client, db, tree, make_member):
    leader = make_member(name="队长甲")
    client.login(tree.staff)
    page = client.get("/teams/new")
    assert page.status_code == 200 and "新建志愿服务队" in page.text
    r = client.post("/teams/new", data={"name": "甲社区电器维修队", "kind": "specialist",
                                        "owner_id": tree.G1a.id, "leader_phone": leader.user.phone,
                                        "specialties": "电器维修、法律咨询"})
    assert r.status_code == 302
    team = db.session.execute(select(Team)).scalar_one()
    assert (team.name, team.kind, team.community_id, team.grid_id) == (
        "甲社区电器维修队", "specialist", tree.C1.id, tree.G1a.id)
    rows = db.session.execute(select(TeamMembership)).scalars().all()
    assert [(m.member_id, m.role, m.left_on) for m in rows] == [(leader.id, "leader", None)]
    page = client.get(r.location)
    assert "甲社区电器维修队" in page.text and "队长甲" in page.text and "专业服务队" in page.text


def test_bad_team_input_is_redisplayed_in_chinese_and_nothing_written(client, db, tree,
                                                                      make_member):
    leader = make_member()
    client.login(tree.staff)
    r = client.post("/teams/new", data={"name": "", "kind": "grid", "owner_id": tree.C1.id,
                                        "leader_phone": leader.user.phone})
    assert r.status_code == 400 and "请为服务队起个名字" in r.text
    r = client.post("/teams/new", data={"name": "队", "kind": "grid", "owner_id": tree.C1.id,
                                        "leader_phone": "13900000000"})
    assert r.status_code == 400 and "没有使用此手机号的党员" in r.text
    # A leader from another street: refused in Chinese, the team is not written either.
    r = client.post("/teams/new", data={"name": "队", "kind": "grid", "owner_id": tree.C1.id,
                                        "leader_phone": tree.member3.phone})
    assert r.status_code == 400 and "居住在其他街道" in r.text
    # Staff may not own a team in a community they do not manage (not even offered).
    r = client.post("/teams/new", data={"name": "队", "kind": "grid", "owner_id": tree.C3.id,
                                        "leader_phone": leader.user.phone})
    assert r.status_code == 400
    assert _count(db, Team) == 0 and _count(db, TeamMembership) == 0


def test_duplicate_name_is_refused(client, db, tree, make_team, make_member):
    make_team(tree.member, name="同名队")
    other = make_member()
    client.login(tree.staff)
    r = client.post("/teams/new", data={"name": "同名队", "kind": "grid", "owner_id": tree.C1.id,
                                        "leader_phone": other.user.phone})
    assert r.status_code == 400 and "已有同名的服务队" in r.text
    assert _count(db, Team) == 1


def test_enrol_and_remove(client, db, tree, make_team, make_member):
    team = make_team(tree.member)
    neighbour = make_member(community=tree.C2, name="乙社区党员")  # same street S1
    client.login(tree.staff)
    r = client.post(f"/teams/{team.id}/members", data={"phone": neighbour.user.phone})
    assert r.status_code == 302
    # Again: already in the team.
    r = client.post(f"/teams/{team.id}/members", data={"phone": neighbour.user.phone})
    assert r.status_code == 400 and "已在本服务队" in r.text
    # Another street: refused with the reason in Chinese.
    r = client.post(f"/teams/{team.id}/members", data={"phone": tree.member3.phone})
    assert r.status_code == 400 and "居住在其他街道" in r.text and "党员丙" not in r.text
    # Not (or no longer) approved: refused.
    from timebank.members import operations as members_ops

    gone = make_member(name="已停用党员")
    members_ops.deactivate(tree.staff, gone)
    db.session.commit()
    r = client.post(f"/teams/{team.id}/members", data={"phone": gone.user.phone})
    assert r.status_code == 400 and "已停用党员 的报到未通过审核或已停用" in r.text
    r = client.post(f"/teams/{team.id}/members", data={"phone": ""})
    assert r.status_code == 400 and "请输入党员的手机号" in r.text
    future = (clock.today() + dt.timedelta(days=3)).isoformat()
    other = make_member()
    r = client.post(f"/teams/{team.id}/members", data={"phone": other.user.phone,
                                                       "joined_on": future})
    assert r.status_code == 400 and "不能晚于今天" in r.text
    rows = db.session.execute(select(TeamMembership).where(
        TeamMembership.team_id == team.id)).scalars().all()
    assert sorted(m.member_id for m in rows) == sorted([rows[0].member_id, neighbour.id])
    # The leader cannot be removed; a member can, and the row stays as history.
    leader_row = next(m for m in rows if m.role == "leader")
    other_row = next(m for m in rows if m.role == "member")
    client.post(f"/teams/{team.id}/members/{leader_row.id}/remove")
    db.session.expire_all()
    assert leader_row.left_on is None
    client.post(f"/teams/{team.id}/members/{other_row.id}/remove")
    db.session.expire_all()
    assert other_row.left_on == clock.today()
    page = client.get(f"/teams/{team.id}")
    assert "曾在本队的队员" in page.text


def test_new_leader(client, db, tree, make_team, make_member):
    second = make_member(name="新队长")
    team = make_team(tree.member)
    from timebank.teams import operations

    row = operations.enrol(tree.staff, team, second)
    db.session.commit()
    client.login(tree.staff)
    assert client.post(f"/teams/{team.id}/members/{row.id}/leader").status_code == 302
    db.session.expire_all()
    assert operations.leader_of(team).id == second.id
    roles = dict(db.session.execute(select(TeamMembership.member_id, TeamMembership.role).where(
        TeamMembership.team_id == team.id)).all())
    assert sorted(roles.values()) == ["leader", "member"]


def test_other_community_staff_get_404(client, db, tree, make_team):
    team = make_team(tree.member)
    client.login(tree.staff3)
    assert client.get(f"/teams/{team.id}").status_code == 404
    assert client.post(f"/teams/{team.id}/members",
                       data={"phone": tree.member3.phone}).status_code == 404
    assert team.name not in client.get("/teams/").text
    assert _count(db, TeamMembership) == 1


def test_member_sees_only_their_teams(client, db, tree, make_team, make_member):
    mine = make_team(tree.member, name="我的队")
    other_leader = make_member(name="别的队长")
    theirs = make_team(other_leader.user, name="别人的队")
    client.login(tree.member)
    page = client.get("/teams/mine")
    assert "我的队" in page.text and "别人的队" not in page.text
    assert client.get(f"/teams/{mine.id}").status_code == 200
    assert client.get(f"/teams/{theirs.id}").status_code == 404
    # A member does not manage: no enrolment, and staff routes are refused.
    assert client.post(f"/teams/{mine.id}/members", data={"phone": "1"}).status_code == 403
    assert client.get("/teams/").status_code == 403


def test_figures_are_the_measures_over_current_members(client, db, tree, make_team,
                                                       make_member, member_of):
    from timebank import measures

    a = member_of(tree.member)
    b = make_member(name="队员乙")
    c = make_member(name="离队者")
    team = make_team(tree.member, b.user, c.user)
    start = clock.now() - dt.timedelta(days=3)
    served(tree.staff, a, start, 90)
    served(tree.staff, b, start, 45)
    served(tree.staff, b, start - dt.timedelta(days=1), 30, verify=False)  # not verified
    served(tree.staff, c, start, 600)
    db.session.commit()
    from timebank.teams import operations
    from timebank.teams import queries

    operations.remove(tree.staff, operations.current_membership(team, c))
    db.session.commit()
    f = queries.figures(team)
    assert (f.members, f.sessions, f.minutes) == (2, 2, 135)
    assert f.minutes == measures.verified_service_minutes(member=[a.id, b.id])
    client.login(tree.member)
    page = client.get(f"/teams/{team.id}")
    assert '<div class="fs-5 fw-semibold fig-hours">2.3</div>' in page.text
    assert '<div class="fs-5 fw-semibold fig-sessions">2</div>' in page.text
    assert '<div class="fs-5 fw-semibold fig-members">2</div>' in page.text


def test_inactive_team_takes_no_members(client, db, tree, make_team, make_member):
    team = make_team(tree.member)
    client.login(tree.staff)
    client.post(f"/teams/{team.id}/active", data={"active": "0"})
    db.session.expire_all()
    assert team.active is False
    other = make_member()
    r = client.post(f"/teams/{team.id}/members", data={"phone": other.user.phone})
    assert r.status_code == 400 and "不再活动" in r.text
