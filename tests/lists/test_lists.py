"""The three lists: lifecycle, who may do what, and the matcher's demand side."""
import pytest
from sqlalchemy import select

from timebank.core.errors import Forbidden, Invalid
from timebank.lists import operations
from timebank.lists.errors import AlreadyOwner, BadTransition, ProjectClosed, ResourceUsedUp
from timebank.lists.models import (Demand, DemandStatus, Project, ProjectPost, ProjectStatus,
                                   Resource)


def member_of(db, user):
    from timebank.members.models import Member

    return db.session.execute(select(Member).where(Member.user_id == user.id)).scalar_one()


def test_demand_lifecycle_through_a_project(db, tree, make_demand, make_resource):
    d = make_demand(actor=tree.staff, people_needed=3)
    assert d.status == DemandStatus.OPEN
    r = make_resource(quantity=10)
    p = operations.create_project(tree.staff, tree.C1, "助老项目", demands=[d], resources=[r])
    db.session.commit()
    assert d.status == DemandStatus.MATCHED and d.project_id == p.id
    # People resources take what the demands need.
    assert p.resources[0].quantity == 3 and operations.allocated(r) == 3
    with pytest.raises(BadTransition):
        operations.start_project(tree.staff, p)  # nobody claimed it yet
    db.session.rollback()
    operations.claim_project(tree.liaison, p, unit=tree.U1)
    operations.start_project(tree.staff, p)
    db.session.commit()
    assert p.status == ProjectStatus.IN_PROGRESS and d.status == DemandStatus.IN_PROGRESS
    operations.complete_project(tree.staff, p, "完成了")
    db.session.commit()
    assert p.status == ProjectStatus.DONE and d.status == DemandStatus.DONE
    # Done is final; a finished project takes no more notes, owners or resources.
    with pytest.raises(BadTransition):
        operations.withdraw_demand(tree.staff, d)
    db.session.rollback()
    with pytest.raises(ProjectClosed):
        operations.add_note(tree.staff, p, "again")
    db.session.rollback()
    assert operations.allocated(r) == 0  # a finished project frees the resource


def test_withdraw_and_cancel(db, tree, make_demand):
    d = make_demand()
    operations.withdraw_demand(tree.staff, d)
    db.session.commit()
    assert d.status == DemandStatus.WITHDRAWN
    p = operations.create_project(tree.staff, tree.C1, "项目")
    with pytest.raises(BadTransition):
        operations.attach_demand(tree.staff, p, d)
    db.session.rollback()

    other = make_demand()
    p = operations.create_project(tree.staff, tree.C1, "项目", demands=[other])
    operations.cancel_project(tree.staff, p, "取消")
    db.session.commit()
    # Back on the list, free for another match.
    assert other.status == DemandStatus.OPEN and other.project_id is None
    with pytest.raises(BadTransition):
        operations.start_project(tree.staff, p)
    db.session.rollback()


def test_demand_validation(db, tree, make_demand):
    with pytest.raises(Invalid) as e:
        make_demand(grid=tree.G3a)
    assert e.value.details["field"] == "grid_id"
    db.session.rollback()
    import datetime as dt

    with pytest.raises(Invalid):
        make_demand(window_start=dt.date(2026, 12, 10), window_end=dt.date(2026, 12, 1))
    db.session.rollback()
    with pytest.raises(Invalid):
        make_demand(urgency=5)
    db.session.rollback()


def test_staff_act_only_in_their_scope(db, tree, make_demand):
    with pytest.raises(Forbidden):
        make_demand(actor=tree.staff3)
    db.session.rollback()
    d = make_demand(actor=tree.street_admin)  # the street covers C1
    for outsider in (tree.staff3, tree.street_admin2, tree.member, tree.liaison):
        with pytest.raises(Forbidden):
            operations.withdraw_demand(outsider, d)
        db.session.rollback()
    with pytest.raises(Forbidden):
        operations.create_project(tree.staff3, tree.C1, "x")
    db.session.rollback()


def test_resources_belong_to_their_unit_or_member(db, tree, make_resource):
    r = make_resource(unit=tree.U1, actor=tree.liaison)
    data = operations.ResourceData(kind="venue", title="会议室", area=tree.S1)
    with pytest.raises(Forbidden):
        operations.update_resource(tree.liaison2, r, data)
    db.session.rollback()
    with pytest.raises(Forbidden):
        make_resource(unit=tree.U1, actor=tree.liaison2)
    db.session.rollback()
    me = member_of(db, tree.member)
    mine = make_resource(member=me, actor=tree.member, area=None)
    assert mine.area_id == tree.C1.id  # a member's offer defaults to their community
    with pytest.raises(Forbidden):
        operations.withdraw_resource(tree.member3, mine)
    db.session.rollback()
    with pytest.raises(Invalid):
        make_resource(area=tree.G1a)  # a grid is not an area a resource serves
    db.session.rollback()


def test_claiming_projects(db, tree, make_demand):
    p = operations.create_project(tree.staff, tree.C1, "项目")
    db.session.commit()
    operations.claim_project(tree.liaison, p, unit=tree.U1)
    operations.claim_project(tree.member, p, member=member_of(db, tree.member))
    db.session.commit()
    assert {o.name for o in p.owners} == {tree.U1.name, "党员甲"}
    with pytest.raises(AlreadyOwner):
        operations.claim_project(tree.liaison, p, unit=tree.U1)
    db.session.rollback()
    with pytest.raises(Forbidden):
        operations.claim_project(tree.liaison2, p, unit=tree.U1)
    db.session.rollback()
    # Owners and staff write progress; others may not.
    operations.add_note(tree.liaison, p, "已联系居民")
    operations.add_note(tree.staff, p, "社区已确认")
    db.session.commit()
    with pytest.raises(Forbidden):
        operations.add_note(tree.member3, p, "x")
    db.session.rollback()
    assert [n.body for n in p.notes] == ["已联系居民", "社区已确认"]


def test_resource_cannot_be_overallocated(db, tree, make_resource):
    r = make_resource(kind="venue", quantity=1)
    a = operations.create_project(tree.staff, tree.C1, "甲", resources=[r])
    db.session.commit()
    b = operations.create_project(tree.staff, tree.C1, "乙")
    db.session.commit()
    with pytest.raises(ResourceUsedUp):
        operations.assign_resource(tree.staff, b, r)
    db.session.rollback()
    operations.cancel_project(tree.staff, a)
    operations.assign_resource(tree.staff, b, r)
    db.session.commit()


def test_generate_post_goes_through_posts(db, tree, catalogue):
    import datetime as dt

    from timebank.core import clock
    from timebank.posts import operations as posts
    from timebank.posts.schedule import Schedule

    p = operations.create_project(tree.staff, tree.C1, "助老项目")
    day = clock.today() + dt.timedelta(days=5)
    post = operations.generate_post(tree.staff, p, posts.PostData(
        kind=catalogue["caring-02"], title="助老送餐", capacity=3,
        schedule=Schedule("dates", dt.time(10), dt.time(12), dates_text=day.isoformat())))
    db.session.commit()
    assert post.status == "published" and len(post.sessions) == 1
    assert db.session.get(ProjectPost, (p.id, post.id)) is not None
    with pytest.raises(Forbidden):
        operations.generate_post(tree.staff3, p, None)
    db.session.rollback()


def test_demand_matching_assigns_to_a_project(db, tree, make_demand, make_resource, skills,
                                              run_match, proposals):
    from timebank.matching import operations as matching

    d = make_demand(skill_ids=[skills["repair"].id], urgency=3)
    make_demand(community=tree.C3, skill_ids=[skills["repair"].id])  # out of the unit's area
    r = make_resource(skill_ids=[skills["repair"].id], area=tree.S1)
    make_resource(kind="funds", quantity=500)  # a different kind of resource
    result = run_match()
    assert result.demand_filled == 1
    (p,) = proposals(kind="demand")
    assert (p.resource_id, p.demand_id) == (r.id, d.id)
    assert p.reasons["skills"] == ["家电维修"] and p.reasons["tier"] == "street"
    matching.accept(tree.staff, p)
    db.session.commit()
    demand = db.session.get(Demand, d.id)
    assert demand.status == DemandStatus.MATCHED
    project = db.session.get(Project, p.project_id)
    assert project.demands == [demand] and project.resources[0].resource_id == r.id
    # Matched demands are not proposed again.
    assert run_match().demand_filled == 0


def test_rejected_resource_is_not_proposed_again(db, tree, make_demand, make_resource,
                                                 run_match, proposals):
    from timebank.matching import operations as matching

    make_demand()
    make_resource()
    run_match()
    (p,) = proposals(kind="demand")
    matching.reject(tree.staff, p)
    db.session.commit()
    assert run_match().demand_filled == 0


# --- pages -------------------------------------------------------------------------------------


def test_staff_publish_a_demand_from_the_page(app, db, tree, catalogue, client):
    from timebank.catalogue.models import PostCategory

    cat = db.session.execute(select(PostCategory)).scalars().first()
    client.login(tree.staff)
    response = client.post("/lists/demands/new", data={
        "community_id": tree.C1.id, "grid_id": tree.G1a.id, "title": "楼道灯维修",
        "category_id": cat.id, "need_kind": "volunteers", "people_needed": 2, "urgency": 3,
        "is_wish": "y", "resident_name": "王奶奶"})
    assert response.status_code == 302, response.text
    d = db.session.execute(select(Demand)).scalar_one()
    assert (d.title, d.grid_id, d.urgency, d.is_wish) == ("楼道灯维修", tree.G1a.id, 3, True)
    # The resident's name is for staff only.
    assert "王奶奶" in client.get(f"/lists/demands/{d.id}").text
    other = app.test_client()
    other.login(tree.member)
    page = other.get(f"/lists/demands/{d.id}")
    assert page.status_code == 200 and "王奶奶" not in page.text
    # A community outside the staff's scope is refused by the form.
    response = client.post("/lists/demands/new", data={
        "community_id": tree.C3.id, "title": "x", "category_id": cat.id,
        "need_kind": "volunteers", "people_needed": 1, "urgency": 1})
    assert response.status_code == 400
    assert db.session.execute(select(Demand).where(Demand.community_id == tree.C3.id)).first() \
        is None


def test_guessed_ids_from_another_scope_are_404(app, db, tree, make_demand, make_resource,
                                                client):
    d = make_demand()
    r = make_resource(unit=tree.U1)
    client.login(tree.staff3)
    assert client.get(f"/lists/demands/{d.id}/edit").status_code == 404
    assert client.post(f"/lists/demands/{d.id}/withdraw").status_code == 404
    assert db.session.get(Demand, d.id).status == DemandStatus.OPEN
    liaison2 = app.test_client()
    liaison2.login(tree.liaison2)
    assert liaison2.post(f"/lists/resources/{r.id}/withdraw").status_code == 404
    assert db.session.get(Resource, r.id).status == "active"


def test_liaison_offers_and_claims_for_their_unit(app, db, tree, catalogue, client):
    client.login(tree.liaison)
    response = client.post("/lists/resources/new", data={
        "owner": f"u{tree.U1.id}", "kind": "expertise", "title": "义诊团队", "category_id": 0,
        "quantity": 5, "area_id": tree.D.id})
    assert response.status_code == 302, response.text
    r = db.session.execute(select(Resource)).scalar_one()
    assert (r.unit_id, r.area_id, r.quantity) == (tree.U1.id, tree.D.id, 5)
    # Offering as another unit is not among the choices.
    response = client.post("/lists/resources/new", data={
        "owner": f"u{tree.U2.id}", "kind": "venue", "title": "x", "category_id": 0,
        "quantity": 1, "area_id": tree.D.id})
    assert response.status_code == 400
    p = operations.create_project(None, tree.C1, "义诊进社区")
    db.session.commit()
    response = client.post(f"/lists/projects/{p.id}/claim", data={"claim-owner": f"u{tree.U1.id}"})
    assert response.status_code == 302
    assert [o.unit_id for o in db.session.get(Project, p.id).owners] == [tree.U1.id]
    response = client.post(f"/lists/projects/{p.id}/notes", data={"note-body": "已安排医生"})
    assert response.status_code == 302
