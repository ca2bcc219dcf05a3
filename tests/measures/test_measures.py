"""The measures: verified service counts only service-record deposits; historical hours are their
own line and come only through the audited import; totals add up over communities."""
from __future__ import annotations

import pytest
from sqlalchemy import select


@pytest.fixture
def member_of(db):
    from timebank.members.models import Member

    def get(user):
        return db.session.execute(select(Member).where(Member.user_id == user.id)).scalar_one()
    return get


def test_only_service_record_deposits_are_verified_service(db, tree, member_of):
    import datetime as dt

    from tests.service_records import served

    from timebank import measures
    from timebank.ledger import operations
    from timebank.posts import operations as posts
    m1, m3 = member_of(tree.member), member_of(tree.member3)
    march = dt.datetime(2026, 3, 5, 1, tzinfo=dt.UTC)
    served(tree.staff, m1, march, 120)
    served(tree.staff3, m3, march, 60)
    served(tree.staff3, m3, march, 45, verify=False)  # pending: not verified service
    operations.deposit(None, m1, 90, source_type="demo", source_id=1, reason="demo")
    operations.deposit(None, m1, 90, source_type="service_record", source_id=999999,
                       reason="a deposit naming no record")
    wrong = served(tree.staff3, m3, march, 30)
    posts.revoke(tree.staff3, wrong, "录错")
    db.session.commit()
    assert measures.verified_service_minutes(tree.D) == 180
    assert measures.verified_service_minutes(tree.C1) == 120
    assert measures.verified_service_minutes(tree.S2) == 60
    assert measures.verified_service_minutes(tree.U1) == 120
    assert measures.service_sessions(tree.D) == 2 and measures.active_members(tree.D) == 2
    assert measures.verified_service_minutes(tree.D, measures.Period.month(2026, 3)) == 180
    assert measures.verified_service_minutes(tree.D, measures.Period.month(2026, 4)) == 0
    total = measures.verified_service_minutes(tree.D)
    parts = measures.by_community(measures.verified_service_minutes, [tree.C1, tree.C2, tree.C3])
    assert sum(parts.values()) == total
    assert measures.by_unit(measures.verified_service_minutes, tree.D) == {
        tree.U1.id: 120, tree.U2.id: 60}
    assert measures.by_category(measures.verified_service_minutes, tree.D) == {0: 180}
    assert measures.historical_minutes(tree.D) == 0


def test_labels_are_unique_and_every_measure_is_defined():
    from timebank import measures
    labels = [m.label for m in measures.REGISTRY.values()]
    assert len(labels) == len(set(labels))
    assert {"verified_service_minutes", "historical_minutes", "registered_members",
            "reported_members", "active_members", "service_sessions", "claim_rate",
            "attendance_rate"} <= set(measures.REGISTRY)
    for m in measures.REGISTRY.values():
        assert m.definition and m.definition.endswith((".", ")")), m.name
    with pytest.raises(ValueError):
        @measures.measure(measures.REGISTRY["reported_members"].label)
        def another_reported(scope=None, period=None):
            """A second count under the same label."""
    assert "another_reported" not in measures.REGISTRY


def test_claim_and_attendance_rates(db, tree, make_user):
    import datetime as dt

    from reports_helpers import catalogue, claim, session

    from timebank import measures
    kind, _ = catalogue(db)
    s = session(db, tree.C1, kind, dt.datetime(2026, 3, 5, 1, tzinfo=dt.UTC), capacity=4)
    claim(db, s, tree.member, "attended")
    claim(db, s, tree.member3, "no_show")
    claim(db, s, make_user("member", tree.C1, name="撤回"), status="withdrawn")
    assert measures.claim_rate(tree.D) == 2 / 4
    assert measures.attendance_rate(tree.C1) == 1 / 2
    assert measures.claim_rate(tree.C3) is None and measures.attendance_rate(tree.C3) is None
    assert measures.claim_rate(tree.D, measures.Period.month(2026, 4)) is None


def test_history_import_is_audited_and_its_own_line(db, tree, member_of):
    from timebank import measures
    from timebank.audit.models import AuditEvent
    from timebank.ledger import history
    rows = history.parse_csv(f"phone,minutes,note\n{tree.member.phone},600,2025年纸质台账\n")
    txs = history.import_history(tree.district_admin, rows)
    db.session.commit()
    assert len(txs) == 1 and txs[0].source_type == "historical"
    assert measures.historical_minutes(tree.D) == 600
    assert measures.historical_minutes(tree.D, member=member_of(tree.member)) == 600
    assert measures.verified_service_minutes(tree.D) == 0
    event = db.session.execute(select(AuditEvent).where(
        AuditEvent.action == "ledger.import_history")).scalar_one()
    assert event.detail["minutes"] == 600


def test_history_import_refuses_bad_rows_and_writes_nothing(db, tree, member_of):
    from timebank import measures
    from timebank.core.errors import Invalid
    from timebank.ledger import history
    from timebank.ledger.models import Transaction
    rows = history.parse_csv(f"{tree.member.phone},60,好行\n13999999999,60,无此人\n"
                             f"{tree.member3.phone},abc,坏分钟\n")
    with pytest.raises(Invalid) as err:
        history.import_history(tree.district_admin, rows)
    db.session.rollback()
    assert "Row 2" in str(err.value) or "第2行" in str(err.value)
    assert db.session.execute(select(Transaction)).first() is None
    assert measures.historical_minutes(tree.D) == 0


def test_reported_and_registered(db, tree):
    from timebank import measures
    assert measures.reported_members(tree.D) == 2
    assert measures.registered_members(tree.C1) == 1
    assert {m.label for m in measures.glossary()} >= {"已报到", "历史结转时长"}


def test_glossary_page_lists_labels_and_needs_login(db, tree, make_client, client):
    assert client.get("/measures/").status_code in (302, 401)
    browser = make_client()
    browser.login(tree.member)
    page = browser.get("/measures/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "已报到" in html and 'id="historical_minutes"' in html


def test_glossary_definitions_read_in_chinese(db, tree, make_client):
    from timebank import measures

    browser = make_client()
    browser.login(tree.staff)
    html = browser.get("/measures/").get_data(as_text=True)
    for name in ("verified_service_minutes", "historical_minutes", "service_sessions",
                 "active_members", "registered_members", "reported_members", "claim_rate",
                 "attendance_rate"):
        m = measures.REGISTRY[name]
        assert f'id="{name}"' in html and m.label in html
        assert m.definition not in html, name  # shown translated, not in English
    assert "按服务当天计入" in html
