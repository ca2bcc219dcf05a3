"""Reporting to a community: online registration, approval, rejection, re-application."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from timebank.accounts.models import Role
from timebank.audit.models import AuditEvent
from timebank.inbox.models import Message
from timebank.members import identity, operations, queries
from timebank.members.models import Member, MemberStatus


def _member_of(db, phone):
    return db.session.execute(
        select(Member).join(Member.user).where(Member.user.property.mapper.class_.phone == phone)
    ).scalar_one_or_none()


def test_register_creates_pending_member(client, db, tree, register_data):
    assert client.get("/members/register").status_code == 200
    data = register_data(phone="139 1234 5678")
    r = client.post("/members/register", data=data)
    assert r.status_code == 302, r.text
    assert r.location == "/members/register/submitted"
    assert "报到申请已提交" in client.get(r.location).text
    # Not logged in by registering (a taken phone must get the same answer): logs in next.
    assert client.get("/members/me").status_code == 302
    client.login("13912345678", data["password"])
    member = _member_of(db, "13912345678")
    assert member.status == MemberStatus.PENDING
    assert member.community_id == tree.C1.id and member.grid_id == tree.G1a.id
    assert member.unit_id == tree.U1.id
    # Encrypted at rest, found by keyed hash, shown masked.
    number = identity.clean_id_number(data["id_number"])
    assert number not in member.id_number_ciphertext
    assert member.id_number_hmac == identity.id_number_hmac(number)
    assert member.id_number == number
    assert member.name_initials == "wxm" and member.phone_tail == "5678"
    assert not member.user.has_role(Role.MEMBER)
    page = client.get("/members/me")
    assert page.status_code == 200
    assert member.masked_id_number in page.text and number not in page.text
    # The staff of C1 were told there is something to review.
    assert db.session.execute(select(Message).where(Message.recipient_id == tree.staff.id)).first()


def test_register_normalises_full_width_digits(client, db, tree, register_data, id_number):
    number = id_number()
    wide = number.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    r = client.post("/members/register", data=register_data(
        phone="１３９ １２３４ ５６７８", id_number=" " + wide[:6] + " " + wide[6:] + " "))
    assert r.status_code == 302, r.text
    member = _member_of(db, "13912345678")
    assert member.id_number == number


@pytest.mark.parametrize(("field", "value"), [
    ("id_number", "110105194912310021"),  # wrong check digit
    ("id_number", "110105194913310026"),  # month 13
    ("phone", "12345678901"),
    ("name", ""),
])
def test_register_rejects_bad_input(client, db, register_data, field, value):
    r = client.post("/members/register", data=register_data(**{field: value}))
    assert r.status_code == 400
    assert db.session.execute(select(Member)).scalars().all() == [] or all(
        m.user.phone != "13912345678" for m in db.session.execute(select(Member)).scalars())


def test_register_refuses_grid_of_another_community(client, db, tree, register_data):
    r = client.post("/members/register", data=register_data(grid_id=str(tree.G2a.id)))
    assert r.status_code == 400
    assert _member_of(db, "13912345678") is None


def test_register_with_taken_id_number_creates_nothing(client, db, pending_member,
                                                       register_data):
    r = client.post("/members/register", data=register_data(id_number=pending_member.id_number))
    assert r.status_code == 302
    assert _member_of(db, "13912345678") is None


def test_registration_is_rate_limited_per_address(client, register_data):
    codes = [client.post("/members/register", data=register_data(phone="1")).status_code
             for _ in range(12)]
    assert codes[0] == 400 and codes[-1] == 429


def test_pending_member_cannot_do_member_actions(client, db, pending_member):
    client.login(pending_member.user, "secret-pass-1")
    r = client.get(f"/members/{pending_member.id}/form")
    assert r.status_code == 302  # back to the status page
    with pytest.raises(operations.NotApproved):
        operations.save_profile(pending_member.user, pending_member)
    assert not pending_member.user.is_member


def test_staff_approves(client, db, tree, pending_member):
    client.login(tree.staff)
    page = client.get(f"/members/{pending_member.id}").text
    review = page.split('/review"', 1)[1].split("</form>", 1)[0]
    # The decision is a row of labelled radios, not a bulleted list.
    assert "<ul" not in review and 'type="radio" name="review-decision"' in review
    r = client.post(f"/members/{pending_member.id}/review", data={"review-decision": "approve"})
    assert r.status_code == 302
    member = db.session.get(Member, pending_member.id)
    assert member.status == MemberStatus.APPROVED
    assert member.reviewed_by_id == tree.staff.id
    assert member.user.has_role(Role.MEMBER, tree.C1)
    assert db.session.execute(select(Message).where(
        Message.recipient_id == member.user_id)).first() is not None
    # Reviewing twice: the second is refused, nothing changes.
    r = client.post(f"/members/{pending_member.id}/review", data={"review-decision": "reject",
                                                                  "review-reason": "x"})
    assert r.status_code == 409
    assert db.session.get(Member, pending_member.id).status == MemberStatus.APPROVED


def test_reject_needs_a_reason_and_member_sees_it(client, make_client, db, tree, pending_member):
    client.login(tree.staff)
    r = client.post(f"/members/{pending_member.id}/review", data={"review-decision": "reject"})
    assert r.status_code == 400
    assert db.session.get(Member, pending_member.id).status == MemberStatus.PENDING
    r = client.post(f"/members/{pending_member.id}/review",
                    data={"review-decision": "reject", "review-reason": "网格填写错误，请更正"})
    assert r.status_code == 302
    member = db.session.get(Member, pending_member.id)
    assert member.status == MemberStatus.REJECTED and member.reject_reason == "网格填写错误，请更正"
    applicant = make_client()
    applicant.login(member.user, "secret-pass-1")
    assert "网格填写错误，请更正" in applicant.get("/").text
    assert "网格填写错误，请更正" in applicant.get("/members/me").text


def test_rejected_member_reapplies(client, make_client, db, tree, pending_member):
    operations.reject(tree.staff, pending_member, "请选择正确的网格")
    db.session.commit()
    applicant = make_client()
    applicant.login(pending_member.user, "secret-pass-1")
    assert applicant.get("/members/me/application").status_code == 200
    r = applicant.post("/members/me/application", data={
        "name": "李申请", "id_number": pending_member.id_number, "unit_id": str(tree.U1.id),
        "community_id": str(tree.C1.id), "grid_id": str(tree.G1a.id)})
    assert r.status_code == 302, r.text
    member = db.session.get(Member, pending_member.id)
    assert member.status == MemberStatus.PENDING
    assert member.reject_reason is None and member.grid_id == tree.G1a.id
    actions = db.session.execute(select(AuditEvent.action).where(
        AuditEvent.target_id == member.id, AuditEvent.target_type == "member")).scalars().all()
    assert {"member.register", "member.reject", "member.resubmit"} <= set(actions)
    # Then approval works as for a first application.
    operations.approve(tree.staff, member)
    db.session.commit()
    assert db.session.get(Member, member.id).status == MemberStatus.APPROVED


def test_approved_member_cannot_reapply(client, tree):
    client.login(tree.member)
    assert client.get("/members/me/application").status_code == 403


def test_logged_in_user_without_member_record_applies(client, db, tree, id_number):
    client.login(tree.staff3)
    r = client.post("/members/me/application", data={
        "name": "丙社区工作者", "id_number": id_number(), "unit_id": "0",
        "community_id": str(tree.C3.id), "grid_id": str(tree.G3a.id)})
    assert r.status_code == 302, r.text
    member = queries.member_for_user(tree.staff3)
    assert member.status == MemberStatus.PENDING and member.unit_id is None


def test_staff_of_another_community_cannot_review(client, db, tree, pending_member):
    client.login(tree.staff3)
    r = client.post(f"/members/{pending_member.id}/review", data={"review-decision": "approve"})
    assert r.status_code == 404
    assert db.session.get(Member, pending_member.id).status == MemberStatus.PENDING


def test_imported_member_claims_account_by_registering(client, db, tree, id_number):
    from timebank.accounts import operations as accounts

    number = id_number()
    user = accounts.create_user(None, "13966660000", "赵导入")
    operations.create_approved_member(None, user, tree.C1, tree.G1a, id_number=number)
    db.session.commit()
    data = {"phone": "13966660000", "name": "赵导入", "id_number": number, "unit_id": "0",
            "community_id": str(tree.C1.id), "grid_id": str(tree.G1a.id),
            "password": "secret-pass-2",
            "confirm": "secret-pass-2"}
    from timebank.accounts.operations import authenticate

    # Wrong ID number: treated like any taken phone (same answer, nothing changes).
    bad = dict(data, id_number=id_number())
    assert client.post("/members/register", data=bad).status_code == 302
    assert authenticate("13966660000", "secret-pass-2") is None
    r = client.post("/members/register", data=data)
    assert r.status_code == 302, r.text
    assert authenticate("13966660000", "secret-pass-2") is not None


def test_two_reviewers_at_once_one_decides(app, db, tree, pending_member):
    """Staff and a street admin review the same application at the same moment: one decides,
    the other is told it was already reviewed (a conditional update, not read-then-write)."""
    import threading

    from timebank.accounts.models import RoleAssignment, User

    member_id = pending_member.id
    reviewers = [tree.staff.id, tree.street_admin.id]
    outcomes = []
    barrier = threading.Barrier(2)

    def review(user_id, decision):
        barrier.wait(timeout=30)
        with app.app_context():
            try:
                actor = db.session.get(User, user_id)
                member = db.session.get(Member, member_id)
                if decision == "approve":
                    operations.approve(actor, member)
                else:
                    operations.reject(actor, member, "信息有误")
                db.session.commit()
                outcomes.append(decision)
            except operations.NotPending:
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=review, args=(uid, d))
               for uid, d in zip(reviewers, ("approve", "reject"), strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) in (["approve", "refused"], ["refused", "reject"])
    db.session.commit()  # end this session's read snapshot
    member = db.session.get(Member, member_id)
    roles = db.session.execute(select(RoleAssignment).where(
        RoleAssignment.user_id == member.user_id, RoleAssignment.role == "member")).scalars().all()
    if "approve" in outcomes:
        assert member.status == MemberStatus.APPROVED and len(roles) == 1
    else:
        assert member.status == MemberStatus.REJECTED and roles == []


# --- registration does not reveal who is registered ---------------------------------------------


def _answer(client, data):
    """Status, location and the page it leads to, without the per-session CSRF token."""
    import re

    fresh = type(client)(client.application, client.response_wrapper)
    r = fresh.post("/members/register", data=data)
    page = fresh.get(r.location).text if r.status_code == 302 else r.text
    page = re.sub(r'(name="csrf[-_]token" (?:content|value)=")[^"]+"', r'\1"', page)
    return r.status_code, r.location, r.get_data(as_text=True), page


def _users(db):
    from sqlalchemy import func

    from timebank.accounts.models import User

    return db.session.execute(select(func.count()).select_from(User)).scalar_one()


def _password_works(phone):
    from tests.conftest import PASSWORD
    from timebank.accounts.operations import authenticate

    return authenticate(phone, PASSWORD) is not None


def test_taken_phone_gets_the_same_answer_as_a_new_one(client, db, tree, register_data):
    before = _users(db)
    taken = _answer(client, register_data(phone=tree.member.phone))
    assert _users(db) == before  # no duplicate account
    new = _answer(client, register_data(phone="13912345678"))
    assert _users(db) == before + 1
    assert taken == new
    assert "报到申请已提交" in new[3]
    # The real owner is told, in their inbox.
    notice = db.session.execute(
        select(Message).where(Message.recipient_id == tree.member.id)).scalar_one()
    assert "手机号" in notice.subject
    assert _password_works(tree.member.phone)  # their account is unchanged


def test_taken_id_number_gets_the_same_answer_as_a_new_one(client, db, tree, pending_member,
                                                           register_data, id_number):
    taken = _answer(client, register_data(phone="13900000001",
                                          id_number=pending_member.id_number))
    assert _member_of(db, "13900000001") is None
    from timebank.accounts.operations import find_by_phone

    assert find_by_phone("13900000001") is None
    new = _answer(client, register_data(phone="13900000002", id_number=id_number()))
    assert _member_of(db, "13900000002") is not None
    assert taken == new
    notice = db.session.execute(
        select(Message).where(Message.recipient_id == pending_member.user_id)).scalar_one()
    assert "身份证号" in notice.subject
    assert pending_member.id_number not in notice.body  # masked


def test_repeated_attempts_send_one_notice_a_day(client, db, tree, register_data):
    for _ in range(3):
        client.post("/members/register", data=register_data(phone=tree.member.phone))
    assert len(db.session.execute(
        select(Message).where(Message.recipient_id == tree.member.id)).scalars().all()) == 1


def test_registration_refuses_a_common_password(client, db, register_data):
    r = client.post("/members/register",
                    data=register_data(password="11111111", confirm="11111111"))
    assert r.status_code == 400
    assert "该密码过于常见" in r.text
    assert _member_of(db, "13912345678") is None


def test_demo_seeding_registers_with_the_demo_password_hash(db, tree, id_number):
    """Seeding passes the hash of the public demo password, which the rules refuse."""
    from werkzeug.security import generate_password_hash

    from timebank.accounts import passwords
    from timebank.accounts.operations import authenticate
    from timebank.core.errors import Invalid

    with pytest.raises(Invalid):
        operations.register("13977770000", "演示", id_number(), passwords.DEMO_PASSWORD,
                            tree.C1, tree.G1a, None)
    member = operations.register_with_hash(
        "13977770000", "演示", id_number(), generate_password_hash(passwords.DEMO_PASSWORD),
        tree.C1, tree.G1a, None)
    assert member.status == MemberStatus.PENDING
    assert authenticate("13977770000", passwords.DEMO_PASSWORD) is not None
