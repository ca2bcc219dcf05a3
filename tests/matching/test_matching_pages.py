"""The matcher's pages: staff run, review and decide; members see recommendations; district
admins set the weights."""
import re

from sqlalchemy import select

from timebank.matching.models import MatchRun, Proposal, ProposalStatus
from timebank.posts.models import Claim


def test_staff_run_from_the_page_and_accept_in_bulk(app, db, tree, make_post, make_member,
                                                    client):
    a, b = make_member(name="甲党员"), make_member(name="乙党员")
    make_post(capacity=2)
    client.login(tree.staff)
    response = client.post("/matching/run", data={"scope_id": tree.C1.id})
    assert response.status_code == 302
    run = db.session.execute(select(MatchRun)).scalar_one()
    assert run.origin == "web" and run.scope_id == tree.C1.id and run.actor_id == tree.staff.id
    page = client.get("/matching/")
    assert "甲党员" in page.text and "同社区" in page.text and "愿意参加此类服务" in page.text
    # The run's message and the run list give the same number of candidates.
    said = re.search(r"从 (\d+) 个候选中得出 (\d+) 条推荐", page.text)
    assert said and int(said.group(1)) == run.candidates == (
        run.stats["post_candidates"] + run.stats["demand_candidates"])
    assert page.text.count(f"从 {run.candidates} 个候选中") >= 2  # the message and the list
    ids = [p.id for p in db.session.execute(select(Proposal)).scalars()]
    response = client.post("/matching/proposals/decide", data={"ids": ids, "action": "accept"})
    assert response.status_code == 302
    claimed = set(db.session.execute(select(Claim.member_id)).scalars())
    assert claimed == {a.id, b.id}


def test_staff_cannot_run_outside_their_scope(app, db, tree, client):
    client.login(tree.staff)
    response = client.post("/matching/run", data={"scope_id": tree.C3.id})
    assert response.status_code == 302
    assert db.session.execute(select(MatchRun)).first() is None


def test_bulk_decisions_skip_proposals_of_other_scopes(app, db, tree, make_post, make_member,
                                                       client):
    make_member(community=tree.C3, grid=tree.G3a)
    make_post(community=tree.C3, capacity=1)
    from timebank.matching import operations

    operations.run_matching(None, None)
    db.session.commit()
    (p,) = db.session.execute(select(Proposal)).scalars().all()
    client.login(tree.staff)
    client.post("/matching/proposals/decide", data={"ids": [p.id], "action": "reject"})
    assert db.session.get(Proposal, p.id).status == ProposalStatus.PROPOSED


def test_reject_from_the_page(app, db, tree, make_post, make_member, client):
    make_member()
    make_post(capacity=1)
    from timebank.matching import operations

    operations.run_matching(None, None)
    db.session.commit()
    (p,) = db.session.execute(select(Proposal)).scalars().all()
    client.login(tree.staff)
    response = client.post(f"/matching/proposals/{p.id}/reject",
                           data={"next": "/matching/?status=rejected"})
    assert response.status_code == 302 and response.location == "/matching/?status=rejected"
    assert db.session.get(Proposal, p.id).status == ProposalStatus.REJECTED
    # Deciding twice says so, changes nothing.
    client.post(f"/matching/proposals/{p.id}/accept")
    assert db.session.get(Proposal, p.id).status == ProposalStatus.REJECTED
    assert db.session.execute(select(Claim)).first() is None


def test_suggest_volunteers_for_a_post(app, db, tree, make_post, make_member, client):
    make_member(name="推荐党员")
    post = make_post(capacity=3)
    client.login(tree.staff)
    page = client.get(f"/matching/posts/{post.id}/suggest")
    assert page.status_code == 200 and "推荐党员" in page.text
    response = client.post(f"/matching/posts/{post.id}/suggest")
    assert response.status_code == 302
    run = db.session.execute(select(MatchRun)).scalar_one()
    assert run.origin == "suggest" and run.proposals == 1


def test_member_sees_recommendations(app, db, tree, make_post, make_member, client, skills):
    from timebank.members import operations as members
    from timebank.members.models import Member

    me = db.session.execute(select(Member).where(Member.user_id == tree.member.id)).scalar_one()
    members.save_profile(None, me, skills=[skills["law"]], availability=[(5, "morning")])
    db.session.commit()
    post = make_post(skills=[skills["law"]])
    client.login(tree.member)
    page = client.get("/matching/recommended")
    assert page.status_code == 200 and post.title in page.text and "法律咨询" in page.text
    assert "上午" in page.text


def test_district_admin_sets_weights(app, db, tree, client):
    from timebank.matching import rules

    client.login(tree.district_admin)
    page = client.get("/matching/settings")
    assert page.status_code == 200 and "默认值" in page.text
    data = {k.replace(".", "__"): v for k, v in {
        **{rules.PREFIX + n: getattr(rules.current().weights, n) for n in rules.WEIGHT_FIELDS},
        rules.MONTHLY_LIMIT: 6, rules.HORIZON_DAYS: 30, rules.MAX_DEMANDS_PER_RESOURCE: 3,
    }.items()}
    data["matching__weight_load_30"] = 12
    response = client.post("/matching/settings", data=data)
    assert response.status_code == 302, response.text
    current = rules.current()
    assert current.weights.load_30 == 12 and current.default_monthly_limit == 6
    data["matching__weight_distance"] = -1
    assert client.post("/matching/settings", data=data).status_code == 400
    assert rules.current().weights.distance == 15
