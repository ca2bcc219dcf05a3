"""The roster census: import with matches, non-matches, a duplicate row and a bad ID; re-import
writes nothing twice; a later registration joins its row; the reporting rate moves to the roster
basis; reminders and the printable list."""
from __future__ import annotations

from sqlalchemy import func, select

from tests.units.conftest import csv_bytes, upload, xlsx_bytes
from timebank import measures
from timebank.core import crypto
from timebank.inbox.models import Message
from timebank.members import identity
from timebank.members import operations as members_ops
from timebank.members.models import ID_NUMBER_CONTEXT, Member
from timebank.members.queries import member_for_user
from timebank.units import queries
from timebank.units.models import RosterEntry


def _entries(db, unit):
    return list(db.session.execute(select(RosterEntry).where(RosterEntry.unit_id == unit.id)
                                   .order_by(RosterEntry.id)).scalars())


def _count(db):
    return db.session.execute(select(func.count()).select_from(RosterEntry)).scalar_one()


def _setup(db, tree, make_user, id_number):
    """An ID-carrying member of U1 (matched by ID), member3 (matched by phone) and two people
    not registered, one duplicated in the file, plus a bad ID number."""
    known = id_number()
    user = make_user("member", tree.C2, name="王有号", unit=tree.U1, id_number=known)
    fresh, fresh2 = id_number(), id_number()
    bad = fresh[:-1] + ("0" if fresh[-1] != "0" else "1")
    rows = [
        ["王有号", known, "", "直管", ""],                        # row 2: matched by ID
        ["党员丙", "", tree.member3.phone, "协管", "丙社区"],       # row 3: matched by phone
        ["赵未报", fresh, "13912340001", "直管", "甲社区"],         # row 4: not registered
        ["赵未报", fresh, "", "直管", ""],                         # row 5: duplicate of row 4
        ["钱错号", bad, "", "直管", ""],                           # row 6: bad ID number
        ["孙未报", fresh2, "", "协管", ""],                        # row 7: not registered
        ["李无号", "", "", "直管", ""],                            # row 8: neither key
    ]
    return user, fresh, fresh2, bad, rows


def test_import_matches_reports_rows_and_reimport_writes_nothing(db, tree, client, make_user,
                                                                  id_number):
    user, fresh, fresh2, bad, rows = _setup(db, tree, make_user, id_number)
    client.login(tree.liaison)

    # All-or-nothing with wrong rows: nothing is written, every wrong row is listed.
    r = upload(client, csv_bytes(rows), tree.U1, mode="all")
    assert r.status_code == 422
    assert _count(db) == 0
    page = r.get_data(as_text=True)
    assert "第 5 行" in page and "与第 4 行是同一人" in page
    assert "第 6 行" in page and "身份证号" in page
    assert "第 8 行" in page

    r = upload(client, csv_bytes(rows), tree.U1, mode="valid")
    assert r.status_code == 422  # imported, but with per-row errors listed
    entries = _entries(db, tree.U1)
    assert [e.name for e in entries] == ["王有号", "党员丙", "赵未报", "孙未报"]
    by_name = {e.name: e for e in entries}
    assert by_name["王有号"].member_id == member_for_user(user).id
    assert by_name["党员丙"].member_id == member_for_user(tree.member3).id
    assert by_name["党员丙"].management == "co" and by_name["党员丙"].community_id == tree.C3.id
    assert by_name["赵未报"].member_id is None and by_name["孙未报"].member_id is None
    # ID numbers only as the members' keyed hash and ciphertext.
    e = by_name["赵未报"]
    assert e.id_number_hmac == identity.id_number_hmac(fresh)
    assert fresh not in e.id_number_ciphertext
    assert crypto.decrypt(e.id_number_ciphertext, ID_NUMBER_CONTEXT) == fresh
    assert e.masked_id_number == fresh[:6] + "********" + fresh[-4:]

    before = [(x.id, x.name, x.member_id, x.updated_at) for x in _entries(db, tree.U1)]
    r = upload(client, xlsx_bytes(rows), tree.U1, filename="roster.xlsx", mode="valid")
    assert r.status_code == 422
    assert "新增 0 人，更新 0 人，未变化 4 人" in r.get_data(as_text=True)
    db.session.expire_all()
    assert [(x.id, x.name, x.member_id, x.updated_at) for x in _entries(db, tree.U1)] == before

    counts = queries.roster_counts(tree.U1)
    assert counts == {"unregistered": 2, "pending": 0, "approved": 2, "other": 0}
    page = client.get(f"/units/roster?unit={tree.U1.id}&state=unregistered").get_data(as_text=True)
    assert "赵未报" in page and "孙未报" in page and "王有号" not in page


def test_a_later_registration_joins_its_row(db, tree, client, make_user, id_number):
    _user, fresh, _fresh2, _bad, rows = _setup(db, tree, make_user, id_number)
    client.login(tree.liaison)
    upload(client, csv_bytes(rows), tree.U1)
    n = _count(db)
    member = members_ops.register("13912349999", "赵未报", fresh, "A-strong-pass-2027!",
                                  tree.C1, tree.G1a, None)
    db.session.commit()
    assert member is not None
    assert _count(db) == n  # joined, not duplicated
    entry = db.session.execute(select(RosterEntry).where(
        RosterEntry.id_number_hmac == identity.id_number_hmac(fresh))).scalar_one()
    assert entry.member_id == member.id
    assert queries.roster_state(entry) == "pending"
    # Importing the file again keeps the link and adds nothing.
    upload(client, csv_bytes(rows), tree.U1)
    db.session.expire_all()
    assert _count(db) == n and db.session.get(RosterEntry, entry.id).member_id == member.id


def test_reporting_rate_moves_from_self_registered_to_roster(db, tree, client, make_user,
                                                            id_number):
    # Without a roster: reported ÷ self-registered. U1 has one approved member and one pending.
    members_ops.register("13912348888", "周待审", id_number(), "A-strong-pass-2027!", tree.C1,
                         tree.G1a, tree.U1)
    db.session.commit()
    assert measures.roster_size(tree.U1) == 0
    assert queries.report_rate_basis(tree.U1) == "registered"
    assert measures.roster_report_rate(tree.U1) == measures.reported_members(tree.U1) / \
        measures.registered_members(tree.U1) == 0.5

    user, fresh, fresh2, _bad, rows = _setup(db, tree, make_user, id_number)
    client.login(tree.liaison)
    upload(client, csv_bytes(rows), tree.U1)
    # Roster basis: 4 on the roster, 2 of them approved (王有号 and 党员丙).
    assert measures.roster_size(tree.U1) == 4
    assert queries.report_rate_basis(tree.U1) == "roster"
    assert measures.roster_report_rate(tree.U1) == 0.5
    assert queries.report_rate_basis(tree.U2) == "registered"  # U2 has no roster
    # Street S1 holds the residences of 王有号 (C2) and 赵未报 (C1, per the file).
    assert measures.roster_size(tree.S1) == 2
    assert measures.roster_report_rate(tree.S1) == 0.5

    member = members_ops.register("13912347777", "孙未报", fresh2, "A-strong-pass-2027!",
                                  tree.C1, tree.G1a, None)
    db.session.commit()
    assert measures.roster_report_rate(tree.U1) == 0.5  # registered, not yet approved
    members_ops.approve(tree.staff, member)
    db.session.commit()
    assert measures.roster_report_rate(tree.U1) == 0.75
    assert measures.roster_size(tree.U1) == 4
    assert "roster_report_rate" in measures.REGISTRY and "roster_size" in measures.REGISTRY


def test_bad_files_and_other_units_are_refused(db, tree, client, id_number):
    client.login(tree.liaison2)
    r = upload(client, csv_bytes([["某人", id_number(), "", "直管", ""]]), tree.U1)
    assert r.status_code == 400  # U1 is not among liaison2's units
    assert _count(db) == 0
    assert client.get(f"/units/roster?unit={tree.U1.id}").status_code == 404
    assert client.get(f"/units/roster/{tree.U1.id}/unregistered").status_code == 404
    client.login(tree.liaison)
    r = upload(client, b"PK\x03\x04 not really a zip", tree.U1, filename="roster.xlsx")
    assert r.status_code == 400 and "不是" in r.get_data(as_text=True)
    r = upload(client, csv_bytes([["某人"]], headers=["姓名"]), tree.U1)
    assert r.status_code == 400 and "管理类型" in r.get_data(as_text=True)
    assert client.get("/units/roster").status_code == 200
    client.login(tree.member)
    assert client.get("/units/roster").status_code == 403


def test_remind_those_with_an_account_and_print_the_rest(db, tree, client, id_number):
    # The staff member of C1 has an account but no member record; the other has neither.
    rows = [["甲社区工作者", "", tree.staff.phone, "直管", ""],
            ["吴无账号", id_number(), "13912340002", "协管", ""]]
    client.login(tree.liaison)
    upload(client, csv_bytes(rows), tree.U1)
    ids = [e.id for e in _entries(db, tree.U1)]
    r = client.post(f"/units/roster/{tree.U1.id}/remind", data={"all": "1"})
    assert r.status_code == 302
    inbox = list(db.session.execute(select(Message).where(
        Message.recipient_id == tree.staff.id, Message.dedup_key.like("units.roster_remind:%"))
    ).scalars())
    assert len(inbox) == 1 and inbox[0].link == "/members/me/application"
    client.post(f"/units/roster/{tree.U1.id}/remind", data={"entry_ids": [str(i) for i in ids]})
    assert db.session.execute(select(func.count()).select_from(Message).where(
        Message.dedup_key.like("units.roster_remind:%"))).scalar_one() == 1  # once a day
    # An id from another unit is a 404.
    other = db.session.execute(select(Member.id)).first()
    assert other is not None
    r = client.post(f"/units/roster/{tree.U1.id}/remind", data={"entry_ids": ["999999"]})
    assert r.status_code == 404
    page = client.get(f"/units/roster/{tree.U1.id}/unregistered").get_data(as_text=True)
    assert "吴无账号" in page and "<svg" in page and "/members/register" in page


def test_template_downloads(db, tree, client):
    client.login(tree.liaison)
    r = client.get("/units/roster/template.csv")
    assert r.status_code == 200 and "管理类型".encode() in r.data
    assert client.get("/units/roster/template.xlsx").status_code == 200
    assert client.get("/units/roster/template.pdf").status_code == 404


def test_members_imported_by_staff_later_join_their_rows(db, tree, client, id_number):
    from timebank.members import imports

    number, phone_only = id_number(), "13912345678"
    client.login(tree.liaison)
    upload(client, csv_bytes([["郑先导", number, "", "直管", ""],
                              ["冯手机", "", phone_only, "协管", ""]]), tree.U1)
    assert queries.roster_counts(tree.U1)["unregistered"] == 2
    result = imports.import_rows(tree.staff, tree.C1, [
        (2, {"name": "郑先导", "phone": "13912340077", "id_number": number}),
        (3, {"name": "冯手机", "phone": phone_only, "id_number": id_number()})])
    db.session.commit()
    assert result.committed and result.created == 2
    db.session.expire_all()
    assert queries.roster_counts(tree.U1) == {"unregistered": 0, "pending": 0, "approved": 2,
                                              "other": 0}
    assert measures.roster_report_rate(tree.U1) == 1.0
