"""The organisation tree: add, rename, move, deactivate, and scoping of every change."""
from sqlalchemy import select

from timebank.audit.models import AuditEvent
from timebank.orgs.models import OrgNode


def _node(db, code):
    db.session.expire_all()
    return db.session.execute(select(OrgNode).where(OrgNode.code == code)).scalar_one()


def test_district_admin_sees_whole_tree_with_codes(client, tree):
    client.login(tree.district_admin)
    page = client.get("/orgs/").text
    for node in (tree.S1, tree.S2, tree.C1, tree.C3, tree.G3a, tree.U1):
        assert node.name in page and node.code in page


def test_street_admin_sees_only_own_street(client, tree):
    client.login(tree.street_admin)
    page = client.get("/orgs/").text
    assert tree.C1.name in page and tree.C2.name in page
    assert tree.C3.name not in page and tree.S2.name not in page


def test_add_community_generates_code_under_street(client, db, tree):
    client.login(tree.street_admin)
    r = client.post(f"/orgs/{tree.S1.id}/children", data={"add-kind": "community",
                                                           "add-name": "新社区"})
    assert r.status_code == 302
    node = db.session.execute(select(OrgNode).where(OrgNode.name == "新社区")).scalar_one()
    assert node.parent_id == tree.S1.id
    assert node.code.startswith("S1") and node.path == f"{tree.S1.path}{node.id}/"


def test_add_child_bad_input_redisplays_in_chinese_and_writes_nothing(client, db, tree):
    client.login(tree.street_admin)
    before = db.session.execute(select(OrgNode.id)).all()
    r = client.post(f"/orgs/{tree.S1.id}/children", data={"add-kind": "community",
                                                           "add-name": "重复", "add-code": "C1"})
    assert r.status_code == 400
    assert "该编码已被其他组织使用" in r.text
    assert db.session.execute(select(OrgNode.id)).all() == before


def test_wrong_kind_under_parent_refused(client, tree):
    client.login(tree.district_admin)
    # A grid cannot hang under a street: the choice is not even offered.
    r = client.post(f"/orgs/{tree.S1.id}/children", data={"add-kind": "grid", "add-name": "x"})
    assert r.status_code == 400


def test_staff_may_add_grid_but_not_community(client, tree):
    client.login(tree.staff)
    assert client.post(f"/orgs/{tree.C1.id}/children",
                       data={"add-kind": "grid", "add-name": "甲三网格"}).status_code == 302


def test_rename(client, db, tree):
    client.login(tree.street_admin)
    assert client.post(f"/orgs/{tree.C1.id}/rename",
                       data={"rename-name": "甲社区（新）"}).status_code == 302
    # Names are stored NFKC-normalised: full-width brackets become ASCII ones.
    assert _node(db, "C1").name == "甲社区(新)"
    events = db.session.execute(select(AuditEvent).where(AuditEvent.action == "org.rename")).all()
    assert len(events) == 1


def test_move_community_rewrites_subtree_paths(client, db, tree):
    client.login(tree.district_admin)
    r = client.post(f"/orgs/{tree.C1.id}/move", data={"move-parent_id": tree.S2.id})
    assert r.status_code == 302
    c1, grid = _node(db, "C1"), _node(db, "G1a")
    assert c1.parent_id == tree.S2.id
    assert grid.path == f"{tree.S2.path}{c1.id}/{grid.id}/"
    assert c1.code == "C1"  # codes are stable across moves


def test_street_admin_cannot_move_into_other_street(client, db, tree):
    client.login(tree.street_admin)
    # C1 is theirs but S2 is not: the target is not among the choices.
    r = client.post(f"/orgs/{tree.C1.id}/move", data={"move-parent_id": tree.S2.id})
    assert r.status_code == 400
    assert _node(db, "C1").parent_id == tree.S1.id


def test_cannot_move_below_itself(db, tree):
    import pytest

    from timebank.core.errors import Invalid
    from timebank.orgs import operations

    with pytest.raises(Invalid):
        operations.move_node(tree.district_admin, tree.S1, tree.S1)


def test_deactivate_cascades_and_revokes_scope(client, make_client, db, tree):
    client.login(tree.street_admin)
    r = client.post(f"/orgs/{tree.C1.id}/active", data={"active": "0"})
    assert r.status_code == 302
    assert not _node(db, "C1").active and not _node(db, "G1a").active
    staff = make_client()
    staff.login(tree.staff)
    # Staff of a deactivated community no longer manage it.
    assert staff.get(f"/orgs/{tree.C1.id}").status_code == 404
    assert client.post(f"/orgs/{tree.C1.id}/active", data={"active": "1"}).status_code == 302
    assert _node(db, "C1").active


def test_street_admin_cannot_touch_other_street_by_guessed_ids(client, db, tree):
    client.login(tree.street_admin)
    c3 = tree.C3.id
    assert client.get(f"/orgs/{c3}").status_code == 404
    assert client.post(f"/orgs/{c3}/rename", data={"rename-name": "x"}).status_code == 404
    assert client.post(f"/orgs/{c3}/active", data={"active": "0"}).status_code == 404
    assert client.post(f"/orgs/{c3}/children",
                       data={"add-kind": "grid", "add-name": "x"}).status_code == 404
    assert client.post(f"/orgs/{tree.G3a.id}/move",
                       data={"move-parent_id": tree.C1.id}).status_code == 404
    # And moving their own node into the other street's community is refused too.
    assert client.post(f"/orgs/{tree.G1a.id}/move",
                       data={"move-parent_id": tree.C3.id}).status_code == 400
    c3_node = _node(db, "C3")
    assert c3_node.name == "丙社区" and c3_node.active


def test_operations_refuse_out_of_scope_actor(db, tree):
    import pytest

    from timebank.core.errors import Forbidden
    from timebank.orgs import operations

    with pytest.raises(Forbidden):
        operations.rename_node(tree.street_admin, tree.C3, "x")
    with pytest.raises(Forbidden):
        operations.set_active(tree.street_admin, tree.C3, False)
    with pytest.raises(Forbidden):
        operations.create_node(tree.street_admin, tree.C3, "grid", "x")
