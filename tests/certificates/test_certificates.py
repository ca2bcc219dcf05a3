"""Service certificates: what they count, their content and hash, the verification page's
states, supersession, revocation and who may download them."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from sqlalchemy import select

from tests.service_records import decode_qr, served
from timebank.core import clock


@pytest.fixture
def records(db, tree, member_of, make_post):
    """member (C1): verified 2 h at a post 5 days ago, verified 1.5 h reported 40 days ago,
    a pending 3 h, a rejected 4 h, and a verified 5 h whose verification was withdrawn."""
    from timebank.members import operations as members
    from timebank.posts import operations

    m = member_of(tree.member)
    members._set_id_number(m, "11010519491231002X")
    now = clock.now()
    post = make_post(title="社区理发<b>服务</b>", place="活动室 & 广场", days=(3,))
    a = served(tree.staff, m, now - dt.timedelta(days=5), 120, post=post)
    b = served(tree.staff, m, now - dt.timedelta(days=40), 90, description="帮助邻居买菜")
    served(tree.staff, m, now - dt.timedelta(days=4), 180, verify=False)
    rejected = served(tree.staff, m, now - dt.timedelta(days=6), 240, verify=False)
    operations.reject(tree.staff, rejected, "不属实")
    withdrawn = served(tree.staff, m, now - dt.timedelta(days=7), 300)
    operations.revoke(tree.staff, withdrawn, "录入错误")
    db.session.commit()
    return m, a, b


def _period(days=60):
    today = clock.today()
    return today - dt.timedelta(days=days), today


def test_counts_only_verified_unreversed_service(db, tree, records):
    from timebank.audit.models import AuditEvent
    from timebank.certificates import operations

    m, a, b = records
    cert = operations.issue(tree.member, m, *_period())
    db.session.commit()
    assert cert.total_minutes == 210
    services = cert.content["services"]
    assert [s[3] for s in services] == [90, 120]  # oldest first, 3 h / 4 h / 5 h left out
    assert services[1][1] == "社区理发<b>服务</b>"
    assert services[1][2] == "甲社区 · 活动室 & 广场"
    assert services[0][1] == "帮助邻居买菜"
    assert cert.content["name"] == "党员甲"
    assert cert.content["issuer"].endswith("甲社区")
    assert re.fullmatch(r"ZYFW-\d{4}-\d{6}", cert.serial)
    assert len(cert.code) >= 32
    assert cert.sha256 == operations.content_hash(cert.content)
    event = db.session.execute(select(AuditEvent).where(
        AuditEvent.action == "certificate.issue")).scalar_one()
    assert event.target_id == cert.id and event.detail["sha256"] == cert.sha256

    # A shorter period leaves the older record out.
    short = operations.issue(tree.member, m, *_period(10))
    assert short.total_minutes == 120


def test_reversal_on_the_ledger_page_is_not_counted(db, tree, records):
    from timebank.certificates import operations
    from timebank.ledger import operations as ledger
    from timebank.ledger.models import Transaction

    m, a, b = records
    ledger.reverse(tree.staff, db.session.get(Transaction, a.transaction_id), "撤销")
    db.session.commit()
    cert = operations.issue(tree.member, m, *_period())
    assert cert.total_minutes == 90


def test_refusals(db, tree, records, member_of):
    from timebank.certificates import operations
    from timebank.core.errors import Forbidden, Invalid

    m, *_ = records
    today = clock.today()
    with pytest.raises(Invalid):
        operations.issue(tree.member, m, today, today - dt.timedelta(days=1))
    with pytest.raises(Invalid):
        operations.issue(tree.member, m, today, today + dt.timedelta(days=1))
    with pytest.raises(operations.NothingToCertify):
        operations.issue(tree.member, m, today - dt.timedelta(days=400),
                         today - dt.timedelta(days=300))
    with pytest.raises(Forbidden):
        operations.issue(tree.member3, m, *_period())
    with pytest.raises(Forbidden):
        operations.issue(tree.staff3, m, *_period())


def test_pdf_content_and_qr(client, db, tree, records):
    from pypdf import PdfReader

    m, *_ = records
    client.login(tree.member)
    start, end = _period()
    r = client.post("/certificates/", data={"start": start.isoformat(), "end": end.isoformat()})
    assert r.status_code == 302
    from timebank.certificates.models import Certificate

    cert = db.session.execute(select(Certificate)).scalar_one()
    r = client.get(f"/certificates/{cert.id}.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(r.data))
    text = "".join(p.extract_text() for p in reader.pages)
    flat = re.sub(r"\s+", "", text)
    assert "11010519491231002X" not in flat
    for expected in ("志愿服务证明", cert.serial, "党员甲", "110105********002X", "甲社区", start.isoformat(),
                     end.isoformat(), "3.5", "社区理发<b>服务</b>", "活动室&广场",
                     clock.today().isoformat(), cert.sha256, f"/verify/{cert.code}"):
        assert re.sub(r"\s+", "", expected) in flat, expected
    url = decode_qr(r.data)
    assert url == f"http://localhost/verify/{cert.code}"


def test_form_errors_in_chinese(client, db, tree, records):
    client.login(tree.member)
    today = clock.today()
    r = client.post("/certificates/", data={"start": today.isoformat(),
                                            "end": (today - dt.timedelta(days=1)).isoformat()})
    assert r.status_code == 400
    assert "结束日期不能早于开始日期" in r.get_data(as_text=True)
    r = client.post("/certificates/", data={"start": "", "end": today.isoformat()})
    assert r.status_code == 400
    r = client.post("/certificates/", data={"start": (today - dt.timedelta(days=800)).isoformat(),
                                            "end": (today - dt.timedelta(days=700)).isoformat()})
    assert r.status_code == 400 and "这段时间内没有已认证的服务" in r.get_data(as_text=True)


def test_verify_page_states(client, make_client, db, tree, records):
    from timebank.audit.models import AuditEvent
    from timebank.certificates import operations

    m, *_ = records
    first = operations.issue(tree.member, m, *_period())
    db.session.commit()
    anonymous = make_client()
    page = anonymous.get(f"/verify/{first.code}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-status="valid"' in html and first.sha256 in html and "党*甲" in html
    assert "党员甲" not in html and "revoke" not in html.lower().split("</nav>")[-1]
    assert anonymous.get("/verify/not-a-code").status_code == 404
    assert anonymous.get(f"/verify/{first.code[:-1]}x").status_code in (404,)

    second = operations.issue(tree.member, m, *_period())
    db.session.commit()
    assert 'data-status="superseded"' in anonymous.get(f"/verify/{first.code}").get_data(
        as_text=True)
    db.session.refresh(first)
    assert first.superseded_by_id == second.id

    # Staff of another community cannot revoke; the member's staff can, once.
    other = make_client()
    other.login(tree.staff3)
    assert other.post(f"/certificates/{second.id}/revoke",
                      data={"reason": "x"}).status_code == 404
    staff = make_client()
    staff.login(tree.staff)
    assert 'id="revoke"' in staff.get(f"/verify/{second.code}").get_data(as_text=True)
    assert staff.post(f"/certificates/{second.id}/revoke", data={"reason": ""}).status_code == 302
    db.session.refresh(second)
    assert second.is_valid
    assert staff.post(f"/certificates/{second.id}/revoke",
                      data={"reason": "证明有误"}).status_code == 302
    html = anonymous.get(f"/verify/{second.code}").get_data(as_text=True)
    assert 'data-status="revoked"' in html and "已被出具单位撤销" in html
    events = db.session.execute(select(AuditEvent.action).where(
        AuditEvent.target_type == "certificate")).scalars().all()
    assert sorted(events) == ["certificate.issue", "certificate.issue", "certificate.revoke"]


def test_another_member_cannot_download(client, make_client, db, tree, records):
    from timebank.certificates import operations

    m, *_ = records
    cert = operations.issue(tree.member, m, *_period())
    db.session.commit()
    other = make_client()
    other.login(tree.member3)
    assert other.get(f"/certificates/{cert.id}.pdf").status_code == 404
    staff = make_client()
    staff.login(tree.staff)
    assert staff.get(f"/certificates/{cert.id}.pdf").status_code == 200
    anonymous = make_client()
    assert anonymous.get(f"/certificates/{cert.id}.pdf").status_code in (302, 401)


def test_parallel_issues_leave_one_valid_certificate(app, db, tree, records):
    from tests.parallel import run_parallel
    from timebank.accounts.models import User
    from timebank.certificates import operations
    from timebank.certificates.models import Certificate
    from timebank.members.models import Member

    m, *_ = records
    start, end = _period()
    user_id, member_id = tree.member.id, m.id

    def job():
        user = db.session.get(User, user_id)
        return operations.issue(user, db.session.get(Member, member_id), start, end).id

    results = run_parallel(app, db, [job, job, job])
    assert all(isinstance(r, int) for r in results), results
    db.session.rollback()
    statuses = sorted(db.session.execute(select(Certificate.status)).scalars())
    assert statuses == ["superseded", "superseded", "valid"]
