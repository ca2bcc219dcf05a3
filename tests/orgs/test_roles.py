"""Role assignment is scoped: a role on a node covers everything below it, nothing else."""
from sqlalchemy import select

from timebank.accounts.models import RoleAssignment, User


def test_street_admin_assigns_staff_creating_account(client, db, tree):
    client.login(tree.street_admin)
    r = client.post(f"/orgs/{tree.C2.id}/roles", data={
        "role-phone": "13600001111", "role-name": "新同事", "role-role": "community_staff",
        "role-password": "initial-pass-1"})
    assert r.status_code == 302
    user = db.session.execute(select(User).where(User.phone == "13600001111")).scalar_one()
    assert user.has_role("community_staff", tree.C2)
    assert user.manages(tree.G2a) and not user.manages(tree.C1)


def test_new_account_needs_name_and_password(client, db, tree):
    client.login(tree.street_admin)
    r = client.post(f"/orgs/{tree.C2.id}/roles", data={
        "role-phone": "13600002222", "role-role": "community_staff"})
    assert r.status_code == 400
    assert "该号码尚无账号" in r.text
    assert db.session.execute(select(User).where(User.phone == "13600002222")).first() is None


def test_staff_cannot_make_street_admins(client, tree):
    client.login(tree.staff)
    r = client.post(f"/orgs/{tree.C1.id}/roles", data={
        "role-phone": tree.member.phone, "role-role": "street_admin"})
    assert r.status_code == 400  # not among the offered roles


def test_role_kind_must_match_node(db, tree):
    import pytest

    from timebank.accounts import operations
    from timebank.core.errors import Invalid

    with pytest.raises(Invalid):
        operations.assign_role(tree.district_admin, tree.member, "street_admin", tree.C1)


def test_revoke_and_self_protection(client, db, tree):
    client.login(tree.district_admin)
    ra_id = db.session.execute(select(RoleAssignment.id).where(
        RoleAssignment.user_id == tree.staff.id)).scalar_one()
    assert client.post(f"/orgs/{tree.C1.id}/roles/{ra_id}/revoke").status_code == 302
    assert db.session.get(RoleAssignment, ra_id) is None
    own_id = db.session.execute(select(RoleAssignment.id).where(
        RoleAssignment.user_id == tree.district_admin.id)).scalar_one()
    client.post(f"/orgs/{tree.D.id}/roles/{own_id}/revoke")
    assert db.session.get(RoleAssignment, own_id) is not None


def test_revoke_by_guessed_assignment_id_in_other_node(client, db, tree):
    client.login(tree.street_admin)
    other_id = db.session.execute(select(RoleAssignment.id).where(
        RoleAssignment.user_id == tree.staff3.id)).scalar_one()
    # Through their own node's URL: the assignment does not belong to it.
    assert client.post(f"/orgs/{tree.C1.id}/roles/{other_id}/revoke").status_code == 404
    assert db.session.get(RoleAssignment, other_id) is not None


def test_permissions_follow_the_tree(tree):
    assert tree.district_admin.manages(tree.G3a)
    assert tree.street_admin.manages(tree.G1a) and not tree.street_admin.manages(tree.C3)
    assert tree.staff.manages(tree.G1b) and not tree.staff.manages(tree.C2)
    assert not tree.liaison.manages(tree.U1)
    assert not tree.member.is_staff and tree.member.is_member
