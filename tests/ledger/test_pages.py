"""The time-bank pages: member page, statement and exports, relay with confirmation,
redemptions by staff, family members, reversal, staff totals and the rules page."""
from __future__ import annotations

import io
import re

from sqlalchemy import select

from timebank.core import settings
from timebank.ledger import operations as ledger
from timebank.ledger import queries
from timebank.ledger.models import Beneficiary


def _fund(member, minutes, source_id=1):
    return ledger.deposit(None, member, minutes, source_type="test", source_id=source_id,
                          reason="助老送餐")


def _token(page_text: str, prefix: str) -> str:
    return re.search(rf'name="{prefix}-token"[^>]*value="([^"]+)"', page_text).group(1)


def test_member_sees_figures_and_statement_in_chinese(client, db, tree, member_of):
    import datetime as dt

    from tests.service_records import served

    m = member_of(tree.member)
    served(tree.staff, m, dt.datetime(2026, 3, 5, 1, tzinfo=dt.UTC), 150, description="助老送餐")
    _fund(m, 60)  # a deposit without a service record: balance, but not verified service
    ledger.redeem(None, m, 90, reason="理发")
    db.session.commit()
    client.login(tree.member)
    r = client.get("/ledger/", follow_redirects=True)
    assert r.status_code == 200
    assert "可用余额" in r.text and "服务时长" in r.text
    assert re.search(r'id="balance">2 <', r.text) and re.search(r'id="service">2.5 <', r.text)
    assert "理发" in r.text and "助老送餐" in r.text
    assert "时间存储" in r.text and "服务回馈" in r.text


def test_statement_is_paginated_newest_first(client, db, tree, member_of):
    m = member_of(tree.member)
    for i in range(25):
        ledger.deposit(None, m, 1, source_type="test", source_id=i, reason=f"第{i}次服务")
    db.session.commit()
    page = queries.statement(m, 1, 20)
    assert page.total == 25 and page.pages == 2 and len(page.items) == 20
    assert page.items[0].reason == "第24次服务" and page.items[0].balance_after == 25
    client.login(tree.member)
    r = client.get(f"/ledger/members/{m.id}?page=2")
    assert "第0次服务" in r.text and "第24次服务" not in r.text


def test_relay_asks_for_confirmation_then_writes_once(client, db, tree, member_of,
                                                      ledger_rows):
    m, m3 = member_of(tree.member), member_of(tree.member3)
    _fund(m, 120)
    db.session.commit()
    client.login(tree.member)
    token = _token(client.get(f"/ledger/members/{m.id}").text, "relay")
    data = {"relay-target": "member", "relay-phone": tree.member3.phone, "relay-hours": "1.5",
            "relay-reason": "送给丙", "relay-token": token}
    r = client.post(f"/ledger/members/{m.id}/relay", data=data)
    assert r.status_code == 200 and "确认" in r.text
    assert "党*丙" in r.text  # the recipient's name, masked
    assert "接收方" in r.text and "结束" not in r.text  # labelled as the recipient, not "end"
    assert ledger_rows() == (1, 2)  # nothing written yet
    r = client.post(f"/ledger/members/{m.id}/relay", data={**data, "relay-confirm": "1"})
    assert r.status_code == 302
    again = client.post(f"/ledger/members/{m.id}/relay", data={**data, "relay-confirm": "1"})
    assert again.status_code == 302  # a double submit is answered with the same entry
    assert ledger_rows() == (2, 4)
    assert queries.member_figures(m).balance_minutes == 30
    assert queries.member_figures(m3).balance_minutes == 90


def test_relay_to_a_pool(client, db, tree, member_of):
    m = member_of(tree.member)
    _fund(m, 60)
    db.session.commit()
    client.login(tree.member)
    data = {"relay-target": "pool", "relay-community": str(tree.C1.id), "relay-hours": "0.5",
            "relay-confirm": "1", "relay-token": "t1"}
    assert client.post(f"/ledger/members/{m.id}/relay", data=data).status_code == 302
    assert queries.pool_account(tree.C1).balance_minutes == 30


def test_relay_errors_are_shown_in_chinese(client, db, tree, member_of, set_rules):
    m = member_of(tree.member)
    _fund(m, 60)
    db.session.commit()
    client.login(tree.member)
    url = f"/ledger/members/{m.id}/relay"
    base = {"relay-target": "member", "relay-phone": tree.member3.phone, "relay-token": "x"}
    r = client.post(url, data={**base, "relay-hours": "2"})
    assert r.status_code == 400 and "余额不足" in r.text
    r = client.post(url, data={**base, "relay-hours": "0.001"})
    assert r.status_code == 400
    r = client.post(url, data={**base, "relay-phone": "13912345678", "relay-hours": "0.5"})
    assert r.status_code == 400 and "没有使用此手机号的党员" in r.text
    set_rules(relay_recipients="pools_only")
    r = client.post(url, data={**base, "relay-hours": "0.5", "relay-confirm": "1"})
    assert r.status_code == 400 and "社区爱心池" in r.text
    set_rules(relay_recipients="members_and_pools", relay_yearly_limit_minutes=20)
    r = client.post(url, data={**base, "relay-hours": "0.5"})
    assert r.status_code == 400 and "年度" in r.text
    assert queries.member_figures(m).balance_minutes == 60


def test_staff_record_a_redemption_for_a_family_member(client, db, tree, member_of):
    m = member_of(tree.member)
    _fund(m, 120)
    db.session.commit()
    client.login(tree.member)
    r = client.post(f"/ledger/members/{m.id}/family",
                    data={"family-name": "王秀英", "family-relation": "母亲"})
    assert r.status_code == 302
    mother = db.session.execute(select(Beneficiary)).scalar_one()
    staff = client.application.test_client()
    staff.login(tree.staff)
    page = staff.get(f"/ledger/members/{m.id}").text
    assert "王秀英（母亲）" in page
    data = {"redeem-beneficiary": str(mother.id), "redeem-hours": "1",
            "redeem-reason": "上门理发", "redeem-token": _token(page, "redeem")}
    assert staff.post(f"/ledger/members/{m.id}/redeem", data=data).status_code == 302
    assert staff.post(f"/ledger/members/{m.id}/redeem", data=data).status_code == 302
    assert queries.member_figures(m).balance_minutes == 60
    r = staff.post(f"/ledger/members/{m.id}/redeem",
                   data={**data, "redeem-hours": "5", "redeem-token": "other"})
    assert r.status_code == 400 and "余额不足" in r.text
    # The member sees who received the service.
    assert "王秀英" in client.get(f"/ledger/members/{m.id}").text


def test_remove_a_family_member(client, db, tree, member_of):
    m = member_of(tree.member)
    b = ledger.add_beneficiary(None, m, "李四", "父亲")
    db.session.commit()
    client.login(tree.member)
    r = client.post(f"/ledger/members/{m.id}/family/{b.id}/remove")
    assert r.status_code == 302
    db.session.refresh(b)
    assert not b.active


def test_exports_render_chinese(client, db, tree, member_of):
    from openpyxl import load_workbook

    m = member_of(tree.member)
    _fund(m, 90)
    ledger.redeem(None, m, 30, reason="助餐服务")
    db.session.commit()
    client.login(tree.member)
    r = client.get(f"/ledger/members/{m.id}/statement.xlsx")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.data)).active
    values = [c for row in ws.iter_rows(values_only=True) for c in row if c is not None]
    assert "时间银行对账单" in values and "助餐服务" in values and "服务回馈" in values
    assert -0.5 in values and 1 in values  # the change and the balance, in hours
    assert -30 not in values  # durations are never shown to people in minutes
    r = client.get(f"/ledger/members/{m.id}/statement.pdf")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    assert b"STSong-Light" in r.data


def test_statement_xlsx_keeps_typed_formulas_as_text(client, db, tree, member_of):
    """A reason (or relay message) typed as a formula must not run when the member opens the
    statement in Excel."""
    from openpyxl import load_workbook

    m = member_of(tree.member)
    _fund(m, 90)
    ledger.redeem(None, m, 30, reason='=HYPERLINK("http://evil.example","点我")')
    db.session.commit()
    client.login(tree.member)
    r = client.get(f"/ledger/members/{m.id}/statement.xlsx")
    ws = load_workbook(io.BytesIO(r.data)).active
    values = [c for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert "'=HYPERLINK(\"http://evil.example\",\"点我\")" in values
    assert not any(v.startswith("=") for v in values)


def test_reverse_from_the_transaction_page(client, db, tree, member_of):
    m = member_of(tree.member)
    tx = _fund(m, 60)
    db.session.commit()
    client.login(tree.staff)
    r = client.get(f"/ledger/transactions/{tx.id}")
    assert r.status_code == 200 and "冲正" in r.text
    assert "其他（test 第 1 号）" in r.text and "<code>test" not in r.text
    assert client.post(f"/ledger/transactions/{tx.id}/reverse",
                       data={"reverse-reason": ""}).status_code == 400
    r = client.post(f"/ledger/transactions/{tx.id}/reverse",
                    data={"reverse-reason": "重复核销"})
    assert r.status_code == 302
    assert queries.member_figures(m) == queries.Figures(0, 0)
    # The member sees the entry and its reversal, without a reverse button.
    member = client.application.test_client()
    member.login(tree.member)
    r = member.get(f"/ledger/transactions/{tx.id}")
    assert r.status_code == 200 and "reverse-reason" not in r.text


def test_district_admin_sees_totals_and_pools(client, db, tree, member_of, set_rules):
    set_rules(storage_cap_minutes=60)
    _fund(member_of(tree.member), 90)
    _fund(member_of(tree.member3), 30, source_id=2)
    db.session.commit()
    client.login(tree.district_admin)
    r = client.get("/ledger/overview")
    assert r.status_code == 200
    for name in ("一街道", "二街道", "甲社区", "乙社区", "丙社区"):
        assert name in r.text
    assert "2" in r.text  # 120 minutes issued
    r = client.get(f"/ledger/communities/{tree.C1.id}")
    assert r.status_code == 200 and "党员甲" in r.text and "0.5" in r.text  # pool: 30 min
    staff = client.application.test_client()
    staff.login(tree.staff)
    r = staff.get("/ledger/overview")
    assert "甲社区" in r.text and "丙社区" not in r.text


def test_rules_page(client, db, tree):
    client.login(tree.district_admin)
    r = client.get("/ledger/rules")
    assert r.status_code == 200 and 'value="1500' in r.text
    r = client.post("/ledger/rules", data={
        "rules-storage_cap": "1000", "rules-relay_recipients": "same_community",
        "rules-relay_limit": "", "rules-group_donate_only": "y"})
    assert r.status_code == 302
    assert settings.get("ledger.storage_cap_minutes") == 60000
    assert settings.get("ledger.relay_recipients") == "same_community"
    assert settings.get("ledger.relay_yearly_limit_minutes") == 0
    assert settings.get("ledger.group_service_donate_only") is True
    r = client.post("/ledger/rules", data={"rules-storage_cap": "0.001",
                                           "rules-relay_recipients": "pools_only"})
    assert r.status_code == 400
