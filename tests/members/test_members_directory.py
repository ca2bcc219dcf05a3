"""Staff directory: scope, search, filters, pagination, bulk actions, reveal, export."""
from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy import select

from timebank.accounts.models import Role
from timebank.audit.models import AuditEvent
from timebank.members import operations, queries
from timebank.members.models import Member, MemberStatus


def _pending(db, tree, phone, name, id_number, grid=None, unit=None, community=None):
    m = operations.register(phone, name, id_number(), "secret-pass-1", community or tree.C1,
                            grid or tree.G1a, unit)
    db.session.commit()
    return m


def _names(page_text, *names):
    return {n for n in names if n in page_text}


def test_directory_is_scoped(client, make_client, tree, make_user):
    make_user("member", tree.C2, name="乙社区党员", grid=tree.G2a)
    client.login(tree.staff)
    r = client.get("/members/")
    assert r.status_code == 200
    assert _names(r.text, "党员甲", "党员丙", "乙社区党员") == {"党员甲"}
    street = make_client()
    street.login(tree.street_admin)
    assert _names(street.get("/members/").text, "党员甲", "党员丙", "乙社区党员") == {
        "党员甲", "乙社区党员"}
    district = make_client()
    district.login(tree.district_admin)
    assert _names(district.get("/members/").text, "党员甲", "党员丙", "乙社区党员") == {
        "党员甲", "党员丙", "乙社区党员"}


def test_search_by_name_initials_and_phone_tail(client, tree, make_user):
    make_user("member", tree.C1, name="张三丰", phone="13700001234", grid=tree.G1a)
    make_user("member", tree.C1, name="曾国藩", phone="13700005678", grid=tree.G1b)
    client.login(tree.staff)

    def found(q):
        return _names(client.get("/members/", query_string={"q": q}).text,
                      "张三丰", "曾国藩", "党员甲")

    assert found("三丰") == {"张三丰"}
    assert found("zsf") == {"张三丰"}
    assert found("ZS") == {"张三丰"}
    assert found("zgf") == {"曾国藩"}
    assert found("5678") == {"曾国藩"}
    assert found("13700001234") == {"张三丰"}
    assert found("%") == set()
    # Full numbers never appear in the list, only masked ones.
    page = client.get("/members/").text
    assert "137****1234" in page and "13700001234" not in page


def test_filters(client, db, tree, make_user, skills, catalogue, id_number):
    a = queries.member_for_user(make_user("member", tree.C1, name="甲甲", grid=tree.G1b,
                                          unit=tree.U2))
    b = queries.member_for_user(make_user("member", tree.C1, name="乙乙", grid=tree.G1a,
                                          unit=tree.U1))
    operations.save_profile(None, a, skills=[skills["书法"]], categories=[catalogue["caring"]])
    kind = catalogue["convenience"].kinds[0]
    operations.save_profile(None, b, skills=[skills["医疗护理"]], kinds=[kind])
    # An older version with 法律咨询 must not match: only the current form counts.
    operations.save_profile(None, a, skills=[skills["法律咨询"]], categories=[catalogue["caring"]])
    operations.save_profile(None, a, skills=[skills["书法"]], categories=[catalogue["caring"]])
    _pending(db, tree, "13911112222", "丙丙", id_number)
    db.session.commit()
    client.login(tree.staff)

    def found(**args):
        return _names(client.get("/members/", query_string=args).text, "甲甲", "乙乙", "丙丙",
                      "党员甲")

    assert found(grid=tree.G1b.id) == {"甲甲"}
    assert found(unit=tree.U2.id) == {"甲甲"}
    assert found(skill=skills["书法"].id) == {"甲甲"}
    assert found(skill=skills["法律咨询"].id) == set()
    assert found(willing=f"c{catalogue['caring'].id}") == {"甲甲"}
    assert found(willing=f"k{kind.id}") == {"乙乙"}
    caring_kind = catalogue["caring"].kinds[0]
    assert found(willing=f"k{caring_kind.id}") == {"甲甲"}  # willing for the whole category
    assert found(status="pending") == {"丙丙"}
    assert found(status="approved", unit=tree.U1.id) == {"乙乙", "党员甲"}


def test_pagination(client, app, db, tree, make_user):
    app.config["PAGE_SIZE"] = 5
    for i in range(12):
        make_user("member", tree.C1, name=f"成员{i:02d}", grid=tree.G1a)
    client.login(tree.staff)
    r = client.get("/members/", query_string={"page": 3})
    assert r.status_code == 200 and "3 / 3" in r.text
    assert r.text.count('name="member_ids"') == 3  # 13 members, 5 per page


def test_bulk_approve_and_reject(client, db, tree, id_number):
    p1 = _pending(db, tree, "13911110001", "待审一", id_number)
    p2 = _pending(db, tree, "13911110002", "待审二", id_number)
    p3 = _pending(db, tree, "13911110003", "待审三", id_number)
    approved = queries.member_for_user(tree.member)
    client.login(tree.staff)
    # Rejecting without a reason fails as a whole: nobody is changed.
    r = client.post("/members/bulk", data={"bulk-action": "reject",
                                          "member_ids": [str(p1.id), str(p2.id)]})
    assert r.status_code == 302
    assert {db.session.get(Member, i).status for i in (p1.id, p2.id)} == {"pending"}
    r = client.post("/members/bulk", data={"bulk-action": "approve",
                                          "member_ids": [str(p1.id), str(p2.id),
                                                         str(approved.id)]})
    assert r.status_code == 302
    for m in (p1, p2):
        m = db.session.get(Member, m.id)
        assert m.status == MemberStatus.APPROVED and m.user.has_role(Role.MEMBER, tree.C1)
    client.post("/members/bulk", data={"bulk-action": "reject", "bulk-reason": "信息不全",
                                       "member_ids": [str(p3.id)]})
    m3 = db.session.get(Member, p3.id)
    assert m3.status == MemberStatus.REJECTED and m3.reject_reason == "信息不全"


def test_bulk_with_id_outside_scope_is_404_and_changes_nothing(client, db, tree, id_number):
    p1 = _pending(db, tree, "13911110001", "待审一", id_number)
    p3 = _pending(db, tree, "13911110003", "丙待审", id_number, grid=tree.G3a,
                  community=tree.C3)
    client.login(tree.staff)
    r = client.post("/members/bulk", data={"bulk-action": "approve",
                                          "member_ids": [str(p1.id), str(p3.id)]})
    assert r.status_code == 404
    assert db.session.get(Member, p1.id).status == MemberStatus.PENDING
    assert db.session.get(Member, p3.id).status == MemberStatus.PENDING


def test_move_and_deactivate(client, db, tree):
    member = queries.member_for_user(tree.member)
    client.login(tree.staff)
    r = client.post(f"/members/{member.id}/move", data={"move-grid_id": str(tree.G1b.id)})
    assert r.status_code == 302
    assert db.session.get(Member, member.id).grid_id == tree.G1b.id
    # A grid of another community is not offered and not accepted.
    client.post(f"/members/{member.id}/move", data={"move-grid_id": str(tree.G2a.id)})
    assert db.session.get(Member, member.id).grid_id == tree.G1b.id
    with pytest.raises(operations.Invalid):
        operations.move_to_grid(tree.staff, member, tree.G2a)
    db.session.rollback()
    # Bulk move.
    client.post("/members/bulk", data={"bulk-action": "move", "bulk-grid_id": str(tree.G1a.id),
                                       "member_ids": [str(member.id)]})
    assert db.session.get(Member, member.id).grid_id == tree.G1a.id

    r = client.post(f"/members/{member.id}/active", data={"active": "0"})
    assert r.status_code == 302
    m = db.session.get(Member, member.id)
    db.session.refresh(m.user)
    assert m.status == MemberStatus.INACTIVE and not m.user.has_role(Role.MEMBER)
    client.post(f"/members/{member.id}/active", data={"active": "1"})
    m = db.session.get(Member, member.id)
    db.session.refresh(m.user)
    assert m.status == MemberStatus.APPROVED and m.user.has_role(Role.MEMBER, tree.C1)


def test_bulk_deactivate(client, db, tree):
    member = queries.member_for_user(tree.member)
    client.login(tree.staff)
    client.post("/members/bulk", data={"bulk-action": "deactivate",
                                       "member_ids": [str(member.id)]})
    assert db.session.get(Member, member.id).status == MemberStatus.INACTIVE


def test_reveal_is_logged_and_staff_only(client, make_client, db, tree, id_number):
    p = _pending(db, tree, "13911110001", "待审一", id_number)
    number = p.id_number
    client.login(tree.staff)
    page = client.get(f"/members/{p.id}").text
    assert number not in page and p.masked_id_number in page
    r = client.post(f"/members/{p.id}/reveal")
    assert r.status_code == 200 and number in r.text
    event = db.session.execute(select(AuditEvent).where(
        AuditEvent.action == "member.reveal_id_number")).scalar_one()
    assert event.actor_id == tree.staff.id and event.target_id == p.id
    # The next page view is masked again.
    assert number not in client.get(f"/members/{p.id}").text
    liaison = make_client()
    liaison.login(tree.liaison)
    member = queries.member_for_user(tree.member)
    assert liaison.post(f"/members/{member.id}/reveal").status_code == 403


def test_export_masks_and_neutralises_formulas(client, db, tree, make_user, skills):
    m = queries.member_for_user(make_user("member", tree.C1, name="=HYPERLINK(\"x\")",
                                          phone="13700009999", grid=tree.G1a))
    operations.save_profile(None, m, free_text_skills="@SUM(A1)", hobbies="+1", skills=[])
    db.session.commit()
    client.login(tree.staff)
    r = client.get("/members/export.xlsx")
    assert r.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(r.data))
    rows = list(wb.active.iter_rows(values_only=True))
    assert rows[0][:3] == ("姓名", "手机号", "身份证号")
    by_name = {row[0]: row for row in rows[1:]}
    row = by_name["'=HYPERLINK(\"x\")"]
    assert row[1] == "137****9999"
    assert row[8] == "'@SUM(A1)" and row[9] == "'+1"
    assert "党员甲" in by_name and "党员丙" not in by_name
    # No cell is stored as a formula.
    for cells in wb.active.iter_rows():
        assert all(c.data_type != "f" for c in cells)
