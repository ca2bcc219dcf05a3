"""Dual reporting (双报到): the unit liaison's view of its members, reminders, unit reports."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from timebank.core import clock
from timebank.inbox.models import Message
from timebank.members import operations, queries
from timebank.members.models import UnitReport


def _messages(db, user):
    return db.session.execute(select(func.count()).select_from(Message).where(
        Message.recipient_id == user.id)).scalar_one()


def test_liaison_sees_only_the_units_members(client, db, tree, id_number):
    rejected = operations.register("13911110001", "被退回", id_number(), "secret-pass-1",
                                   tree.C2, tree.G2a, tree.U1)
    operations.reject(tree.street_admin, rejected, "请补充信息")
    operations.register("13911110002", "等审核", id_number(), "secret-pass-1", tree.C3,
                        tree.G3a, tree.U1)
    db.session.commit()
    client.login(tree.liaison)
    page = client.get("/members/unit")
    assert page.status_code == 200
    assert "党员甲" in page.text and "被退回" in page.text and "等审核" in page.text
    assert "党员丙" not in page.text  # unit U2
    counts = queries.unit_state_counts(tree.U1)
    assert counts == {"not_reported": 1, "form_missing": 1, "pending": 1, "reported": 0}
    only = client.get("/members/unit", query_string={"state": "not_reported"}).text
    assert "被退回" in only and "党员甲" not in only


def test_remind_once_a_day(client, db, tree, id_number):
    rejected = operations.register("13911110001", "被退回", id_number(), "secret-pass-1",
                                   tree.C1, tree.G1a, tree.U1)
    operations.reject(tree.staff, rejected, "请补充信息")
    pending = operations.register("13911110002", "等审核", id_number(), "secret-pass-1",
                                  tree.C1, tree.G1a, tree.U1)
    db.session.commit()
    before = {u: _messages(db, u) for u in (tree.member, rejected.user, pending.user)}
    day = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.timezone.utc)
    client.login(tree.liaison)
    with clock.freeze(day):
        r = client.post(f"/members/unit/{tree.U1.id}/remind", data={"all": "1"})
        assert r.status_code == 302
        client.post(f"/members/unit/{tree.U1.id}/remind", data={"all": "1"})
        member = queries.member_for_user(tree.member)
        client.post(f"/members/unit/{tree.U1.id}/remind", data={"member_ids": [str(member.id)]})
    # The member without a form and the rejected one: one message each; pending waits on staff.
    assert _messages(db, tree.member) == before[tree.member] + 1
    assert _messages(db, rejected.user) == before[rejected.user] + 1
    assert _messages(db, pending.user) == before[pending.user]
    with clock.freeze(day + dt.timedelta(days=1)):
        client.post(f"/members/unit/{tree.U1.id}/remind", data={"all": "1"})
    assert _messages(db, tree.member) == before[tree.member] + 2


def test_remind_member_of_another_unit_is_404(client, db, tree):
    other = queries.member_for_user(tree.member3)
    client.login(tree.liaison)
    before = _messages(db, tree.member3)
    r = client.post(f"/members/unit/{tree.U1.id}/remind", data={"member_ids": [str(other.id)]})
    assert r.status_code == 404
    assert _messages(db, tree.member3) == before


def test_unit_reports_to_community(client, make_client, db, tree):
    client.login(tree.liaison)
    r = client.post(f"/members/unit/{tree.U1.id}/reports",
                    data={"report-org_id": str(tree.C1.id), "report-note": "可提供义诊"})
    assert r.status_code == 302
    # Reporting again is idempotent.
    client.post(f"/members/unit/{tree.U1.id}/reports", data={"report-org_id": str(tree.C1.id)})
    reports = db.session.execute(select(UnitReport)).scalars().all()
    assert len(reports) == 1 and reports[0].note == "可提供义诊"
    assert reports[0].reported_by_id == tree.liaison.id
    assert "区人民医院" in client.get("/members/unit").text
    assert _messages(db, tree.staff) == 1

    staff = make_client()
    staff.login(tree.staff)
    assert "区人民医院" in staff.get("/members/reported-units").text
    other = make_client()
    other.login(tree.staff3)
    assert "区人民医院" not in other.get("/members/reported-units").text

    r = client.post(f"/members/unit/{tree.U1.id}/reports/{reports[0].id}/withdraw")
    assert r.status_code == 302
    assert db.session.execute(select(UnitReport)).first() is None


def test_another_units_liaison_cannot_touch_reports(client, db, tree):
    report = operations.report_unit(tree.liaison, tree.U1, tree.S1)
    db.session.commit()
    client.login(tree.liaison2)
    assert client.post(f"/members/unit/{tree.U1.id}/reports/{report.id}/withdraw").status_code == 404
    assert client.post(f"/members/unit/{tree.U2.id}/reports/{report.id}/withdraw").status_code == 404
    assert db.session.get(UnitReport, report.id) is not None


def test_contact_card_visibility(client, make_client, db, tree):
    member = queries.member_for_user(tree.member)
    for who, status in [(tree.member, 200), (tree.staff, 200), (tree.liaison, 200),
                        (tree.liaison2, 404), (tree.staff3, 404), (tree.member3, 404)]:
        c = make_client()
        c.login(who)
        r = c.get(f"/members/{member.id}/card")
        assert r.status_code == status, who
        if status == 200:
            # How to reach the member and the unit's liaison.
            assert tree.member.phone in r.text and tree.liaison.phone in r.text
            assert "医院联络员" in r.text and "data-print" in r.text
