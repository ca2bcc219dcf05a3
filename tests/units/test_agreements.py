"""Co-building agreements: two commitments, one fulfilled through a project -> 50%; both sides
sign; frozen commitments; fulfilment and review by the community only; who sees what."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from timebank.core import clock
from timebank.core.errors import Forbidden, Invalid
from timebank.inbox.models import Message
from timebank.lists import operations as lists_ops
from timebank.units import operations, queries
from timebank.units.models import Agreement, AgreementStatus, Commitment


def _draft(db, tree, org=None, by=None):
    a = operations.create_agreement(by or tree.liaison, tree.U1, org or tree.C1, "2026年共建协议",
                                    dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    hours = operations.add_commitment(by or tree.liaison, a, "hours", "在职党员进社区服务",
                                      operations.parse_amount("hours", "100"))
    project = operations.add_commitment(by or tree.liaison, a, "project", "认领一个社区项目", 1)
    db.session.commit()
    return a, hours, project


def test_two_commitments_one_fulfilled_through_a_project_is_half(db, tree, client):
    a, hours, project_item = _draft(db, tree)
    project = lists_ops.create_project(tree.staff, tree.C1, "老旧小区加装扶手")
    db.session.commit()
    client.login(tree.liaison)
    assert client.post(f"/units/agreements/{a.id}/sign").status_code == 302
    db.session.refresh(a)
    assert a.status == AgreementStatus.DRAFT and a.unit_signed_by_id == tree.liaison.id
    # The community is asked to sign.
    assert db.session.execute(select(Message).where(
        Message.recipient_id == tree.staff.id, Message.link == f"/units/agreements/{a.id}")).first()
    client.login(tree.staff)
    client.post(f"/units/agreements/{a.id}/sign")
    db.session.refresh(a)
    assert a.status == AgreementStatus.ACTIVE and a.org_signed_by_id == tree.staff.id
    told = db.session.execute(select(Message).where(
        Message.recipient_id == tree.liaison.id, Message.link == f"/units/agreements/{a.id}")
    ).scalar_one()
    assert "已生效" in told.subject

    r = client.post(f"/units/agreements/{a.id}/items/{project_item.id}/fulfil", data={
        f"f{project_item.id}-amount": "1", f"f{project_item.id}-on_date": clock.today().isoformat(),
        f"f{project_item.id}-note": "医院党员认领并完成", f"f{project_item.id}-evidence": "验收单 2026-07",
        f"f{project_item.id}-post_id": "0", f"f{project_item.id}-project_id": str(project.id)})
    assert r.status_code == 302, r.get_data(as_text=True)
    p = queries.progress(a)
    assert [i.percent for i in p.items] == [0, 100]
    assert p.percent == 50 and p.met == 1
    page = client.get(f"/units/agreements/{a.id}").get_data(as_text=True)
    assert "总体 50%" in page
    assert "验收单 2026-07" in page
    listing = client.get("/units/agreements").get_data(as_text=True)
    assert "50%" in listing and a.title in listing

    # Part of the hours: the mean of capped ratios, more than one item's worth never counts.
    operations.record_fulfilment(tree.staff, hours, operations.parse_amount("hours", "30.5"),
                                 clock.today(), "周末义诊")
    operations.record_fulfilment(tree.staff, project_item, 3, clock.today())
    db.session.commit()
    p = queries.progress(a)
    assert [i.done for i in p.items] == [1830, 4]
    assert p.percent == int((0.305 + 1.0) / 2 * 100)
    assert "30.5 小时" in client.get(f"/units/agreements/{a.id}").get_data(as_text=True)


def test_both_sides_sign_and_commitments_freeze(db, tree):
    a, hours, _project = _draft(db, tree)
    with pytest.raises(Forbidden):
        operations.sign(tree.liaison2, a)
    with pytest.raises(Forbidden):
        operations.sign(tree.staff3, a)
    operations.sign(tree.staff, a)
    db.session.commit()
    assert a.status == AgreementStatus.DRAFT
    with pytest.raises(operations.AlreadySigned):
        operations.sign(tree.staff, a)
    with pytest.raises(operations.NotDraft):
        operations.add_commitment(tree.liaison, a, "funds", "资助", 5000)
    with pytest.raises(operations.NotDraft):
        operations.remove_commitment(tree.staff, hours)
    with pytest.raises(operations.NotActive):
        operations.record_fulfilment(tree.staff, hours, 60, clock.today())
    operations.sign(tree.liaison, a)
    db.session.commit()
    assert a.status == AgreementStatus.ACTIVE
    assert a.unit_signed_at is not None and a.org_signed_at is not None


def test_fulfilment_and_review_rules(db, tree, client):
    a, hours, project_item = _draft(db, tree)
    operations.sign(tree.liaison, a)
    operations.sign(tree.staff, a)
    db.session.commit()
    # Only the community side records; the unit's liaison sees but may not.
    with pytest.raises(Forbidden):
        operations.record_fulfilment(tree.liaison, hours, 60, clock.today())
    other = lists_ops.create_project(tree.staff3, tree.C3, "丙社区的项目")
    db.session.commit()
    with pytest.raises(Invalid) as e:
        operations.record_fulfilment(tree.staff, project_item, 1, clock.today(),
                                     project_id=other.id)
    assert e.value.details["field"] == "project_id"
    with pytest.raises(Invalid):
        operations.record_fulfilment(tree.staff, hours, 60, clock.today() + dt.timedelta(days=2))
    for bad in ("", "0", "-3", "1.25", "abc"):
        with pytest.raises(Invalid):
            operations.parse_amount("hours", bad)
    with pytest.raises(Invalid):
        operations.parse_amount("funds", "12.5")
    assert operations.parse_amount("funds", "１２,０００") == 12000

    # A wrong form re-displays its errors in Chinese.
    client.login(tree.staff)
    r = client.post(f"/units/agreements/{a.id}/items/{hours.id}/fulfil", data={
        f"f{hours.id}-amount": "1.25", f"f{hours.id}-on_date": clock.today().isoformat(),
        f"f{hours.id}-post_id": "0", f"f{hours.id}-project_id": "0"})
    assert r.status_code == 400 and "最多一位小数" in r.get_data(as_text=True)
    client.login(tree.liaison)
    r = client.post(f"/units/agreements/{a.id}/review", data={"review-review": "很好"})
    assert r.status_code == 403
    client.login(tree.staff)
    assert client.post(f"/units/agreements/{a.id}/review",
                       data={"review-review": ""}).status_code == 400
    r = client.post(f"/units/agreements/{a.id}/review",
                    data={"review-review": "全年履约良好，项目按期完成。"})
    assert r.status_code == 302
    db.session.refresh(a)
    assert a.status == AgreementStatus.CLOSED and a.reviewed_by_id == tree.staff.id
    with pytest.raises(operations.NotActive):
        operations.record_fulfilment(tree.staff, hours, 60, clock.today())
    assert "全年履约良好" in client.get(f"/units/agreements/{a.id}").get_data(as_text=True)


def test_agreement_period_and_parties_are_checked(db, tree):
    with pytest.raises(Invalid):
        operations.create_agreement(tree.liaison, tree.U1, tree.C1, "协议", dt.date(2026, 5, 1),
                                    dt.date(2026, 4, 1))
    with pytest.raises(Invalid):
        operations.create_agreement(tree.liaison, tree.U1, tree.G1a, "协议", dt.date(2026, 1, 1),
                                    dt.date(2026, 12, 31))
    # Neither the unit's liaison nor staff of the other party.
    with pytest.raises(Forbidden):
        operations.create_agreement(tree.liaison2, tree.U1, tree.C1, "协议", dt.date(2026, 1, 1),
                                    dt.date(2026, 12, 31))
    with pytest.raises(Forbidden):
        operations.create_agreement(tree.staff3, tree.U1, tree.C1, "协议", dt.date(2026, 1, 1),
                                    dt.date(2026, 12, 31))


@pytest.mark.parametrize(("who", "seen"), [
    ("liaison", True), ("staff", True), ("street_admin", True), ("district_admin", True),
    ("liaison2", False), ("staff3", False), ("street_admin2", False), ("member", False),
])
def test_who_sees_a_community_agreement(db, tree, client, who, seen):
    a, hours, _p = _draft(db, tree)
    client.login(getattr(tree, who))
    r = client.get(f"/units/agreements/{a.id}")
    assert r.status_code == (200 if seen else 404)
    if who != "member":
        ids = [x.id for x in db.session.execute(
            queries.agreements_for(getattr(tree, who))).scalars().unique()]
        assert (a.id in ids) == seen
    # Guessed item ids of this agreement's neighbours are 404 too.
    if seen:
        r = client.post(f"/units/agreements/{a.id}/items/999999/remove")
        assert r.status_code == 404


def test_street_agreement_is_the_streets_not_its_communities(db, tree, client):
    a, _h, _p = _draft(db, tree, org=tree.S1, by=tree.street_admin)
    for who, status in (("street_admin", 200), ("liaison", 200), ("staff", 404),
                        ("street_admin2", 404)):
        client.login(getattr(tree, who))
        assert client.get(f"/units/agreements/{a.id}").status_code == status, who


def test_draft_through_the_pages(db, tree, client):
    client.login(tree.liaison)
    assert client.get("/units/agreements/new").status_code == 200
    r = client.post("/units/agreements/new", data={
        "unit_id": str(tree.U1.id), "org_id": str(tree.C1.id), "title": "",
        "starts_on": "2026-01-01", "ends_on": "2026-12-31"})
    assert r.status_code == 400 and "必填" in r.get_data(as_text=True) or "请" in r.get_data(as_text=True)
    r = client.post("/units/agreements/new", data={
        "unit_id": str(tree.U1.id), "org_id": str(tree.C1.id), "title": "共建协议",
        "starts_on": "2026-01-01", "ends_on": "2026-12-31"})
    assert r.status_code == 302
    a = db.session.execute(select(Agreement)).scalar_one()
    r = client.post(f"/units/agreements/{a.id}/items", data={
        "item-kind": "funds", "item-description": "资助社区助老餐桌", "item-target": "20000"})
    assert r.status_code == 302
    r = client.post(f"/units/agreements/{a.id}/items", data={
        "item-kind": "funds", "item-description": "再资助", "item-target": "abc"})
    assert r.status_code == 400 and "整数" in r.get_data(as_text=True)
    item = db.session.execute(select(Commitment)).scalar_one()
    assert item.target == 20000
    assert "20,000 元" in client.get(f"/units/agreements/{a.id}").get_data(as_text=True)
    assert client.post(f"/units/agreements/{a.id}/items/{item.id}/remove").status_code == 302
    assert db.session.execute(select(Commitment)).first() is None
    client.login(tree.member)
    assert client.get("/units/agreements").status_code == 403
    assert client.get("/units/agreements/new").status_code == 403


def test_both_sides_signing_at_the_same_moment_put_it_in_force(app, db, tree):
    from tests.parallel import run_parallel
    from timebank.accounts.models import User

    for _round in range(3):
        a, _h, _p = _draft(db, tree)
        aid, uids = a.id, (tree.liaison.id, tree.staff.id)
        results = run_parallel(app, db, [
            lambda uid=uid: operations.sign(db.session.get(User, uid),
                                            db.session.get(Agreement, aid)).status
            for uid in uids])
        assert not [r for r in results if isinstance(r, Exception)], results
        db.session.expire_all()
        a = db.session.get(Agreement, aid)
        assert a.status == AgreementStatus.ACTIVE
        assert (a.unit_signed_by_id, a.org_signed_by_id) == uids


def test_two_imports_of_one_file_at_once_write_each_person_once(app, db, tree):
    from sqlalchemy import func

    from tests.parallel import run_parallel
    from tests.units.conftest import make_id_number
    from timebank.accounts.models import User
    from timebank.core.errors import Conflict
    from timebank.orgs.models import OrgNode
    from timebank.units.models import RosterEntry
    from timebank.units.roster import import_rows

    rows = [(i + 2, {"name": f"赵{i}", "id_number": make_id_number(700 + i), "management": "直管"})
            for i in range(20)]
    uid, unit_id = tree.liaison.id, tree.U1.id
    results = run_parallel(app, db, [
        lambda: import_rows(db.session.get(User, uid), db.session.get(OrgNode, unit_id), rows,
                            all_or_nothing=False).created for _ in range(2)])
    assert all(isinstance(r, (int, Conflict)) for r in results), results
    assert db.session.execute(select(func.count()).select_from(RosterEntry)).scalar_one() == 20
