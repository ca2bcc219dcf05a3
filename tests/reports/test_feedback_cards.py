"""Performance feedback cards (表现反馈卡): the figures per member, monthly delivery to the
unit's liaisons (once per period), the pages, PDF and .xlsx, and staff notes."""
from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from reports_helpers import catalogue, claim, local, member_of, session, verified

from timebank.jobs import runner, table
from timebank.core import clock
from timebank.reports import operations, queries
from timebank.reports.models import FeedbackCard


@pytest.fixture
def march(db, tree, make_user):
    """U1 has 党员甲 (tree.member, C1), 乙 (C2, attended once, missed once), 丙 (C3, pending
    review) and 丁 (C1, rejected); sessions in March 2026, one in April."""
    from timebank.members.models import Member

    kind_a, kind_b = catalogue(db)
    yi = make_user("member", tree.C2, name="乙", unit=tree.U1)
    bing = make_user("member", tree.C3, name="丙", unit=tree.U1)
    ding = make_user("member", tree.C1, name="丁", unit=tree.U1)
    db.session.query(Member).filter_by(user_id=bing.id).one().status = "pending"
    db.session.query(Member).filter_by(user_id=ding.id).one().status = "rejected"
    db.session.commit()
    s1 = session(db, tree.C1, kind_a, local(2026, 3, 5, 9))
    s2 = session(db, tree.C2, kind_b, local(2026, 3, 12, 9))
    s3 = session(db, tree.C2, kind_b, local(2026, 3, 20, 9))
    s4 = session(db, tree.C1, kind_a, local(2026, 4, 2, 9))
    claim(db, s1, tree.member, "attended")
    claim(db, s2, yi, "attended")
    claim(db, s3, yi, "no_show")
    claim(db, s4, tree.member)  # April: not in March's card
    claim(db, s3, tree.member, status="withdrawn")  # withdrawn claims do not count
    verified(db, tree.member, s1, 120, local(2026, 3, 6, 10))
    verified(db, yi, s2, 90, local(2026, 3, 31, 23, 30))  # still March in Shanghai
    verified(db, yi, s3, 60, local(2026, 4, 1, 0, 10))  # served in March, verified in April
    return {"yi": yi, "bing": bing, "ding": ding}


def test_card_figures(db, tree, march):
    with clock.freeze(local(2026, 3, 25, 9)):
        operations.add_evaluation(tree.staff, member_of(db, tree.member), dt.date(2026, 3, 1),
                                  "积极参加社区服务")
        db.session.commit()
    card = queries.build_card(tree.U1, dt.date(2026, 3, 1), dt.date(2026, 4, 1))
    rows = {r.name: r for r in card.rows}
    # a rejected registration (丁) is not a registered member of the unit
    assert set(rows) == {"党员甲", "乙", "丙"}
    jia, yi = rows["党员甲"], rows["乙"]
    assert (jia.claimed, jia.attended, jia.no_shows, jia.minutes) == (1, 1, 0, 120)
    # verified service counts on the day served: both of 乙's March services, whenever verified
    assert (yi.claimed, yi.attended, yi.no_shows, yi.minutes) == (2, 1, 1, 150)
    assert jia.notes == ["2026-03: 积极参加社区服务"] and yi.notes == []
    assert rows["丙"].state == "pending"
    assert (card.registered, card.reported, card.active) == (3, 2, 2)
    assert card.totals == {"claimed": 3, "attended": 2, "no_shows": 1, "minutes": 270,
                           "sessions": 3, "historical": 0}
    from timebank import measures
    period = measures.Period.month(2026, 3)
    assert card.totals["minutes"] == measures.verified_service_minutes(tree.U1, period)
    assert card.active == measures.active_members(tree.U1, period)
    # registered and reported: as at the time the card is made
    assert card.reported == measures.reported_members(tree.U1)
    assert card.registered == measures.registered_members(tree.U1)
    # Stored as JSON and read back unchanged.
    assert queries.Card.from_json(card.to_json()) == card


def test_monthly_job_sends_each_card_once(db, tree, march):
    from timebank.inbox.models import Message

    job = table.get_job("feedback.monthly_cards")
    period = table.latest_fire_time(job, local(2026, 4, 3).astimezone(clock.UTC))
    assert clock.to_local(period) == local(2026, 4, 1, 7)
    with clock.freeze(local(2026, 4, 1, 7, 0, 3)):
        out = runner.execute(job, period)
    assert out.outcome == "ok", out.summary
    assert "2026-03: 2 made" in out.summary  # U1, and U2 (member3)
    cards = db.session.query(FeedbackCard).order_by(FeedbackCard.unit_id).all()
    assert [(c.unit_id, c.period_start, c.period_end) for c in cards] == [
        (tree.U1.id, dt.date(2026, 3, 1), dt.date(2026, 4, 1)),
        (tree.U2.id, dt.date(2026, 3, 1), dt.date(2026, 4, 1))]
    [msg] = db.session.query(Message).filter_by(recipient_id=tree.liaison.id).all()
    assert "表现反馈卡" in msg.subject and msg.link.startswith("/reports/cards/")
    # Service verified later does not change the card that was sent.
    card_json = cards[0].figures_json
    with clock.freeze(local(2026, 4, 2, 9)):
        from timebank.reports import tasks

        tasks.monthly_feedback_cards(period)
        db.session.commit()
    assert db.session.query(FeedbackCard).count() == 2
    assert db.session.query(Message).filter_by(recipient_id=tree.liaison.id).count() == 1
    db.session.expire_all()
    assert db.session.get(FeedbackCard, cards[0].id).figures_json == card_json


def test_card_pages_pdf_and_xlsx(db, client, tree, march):
    client.login(tree.liaison)
    with clock.freeze(local(2026, 4, 10, 9)):
        r = client.get(f"/reports/units/{tree.U1.id}")
        assert r.status_code == 200 and "区人民医院" in r.text
        r = client.get(f"/reports/units/{tree.U1.id}/card?start=2026-03-01&end=2026-03-31")
        assert r.status_code == 200
        assert "表现反馈卡" in r.text and "党员甲" in r.text and "待审核" in r.text
        r = client.get(f"/reports/units/{tree.U1.id}/card.pdf?start=2026-03-01&end=2026-03-31")
        assert r.status_code == 200 and r.data.startswith(b"%PDF")
        assert b"STSong-Light" in r.data  # the CID font that renders Chinese
        r = client.get(f"/reports/units/{tree.U1.id}/card.xlsx?start=2026-03-01&end=2026-03-31")
        assert r.status_code == 200
        assert client.get(f"/reports/units/{tree.U1.id}/card?start=2026-04-01&end=2026-03-01"
                          ).status_code == 400
    ws = openpyxl.load_workbook(io.BytesIO(r.data)).active
    values = [c for row in ws.iter_rows(values_only=True) for c in row if c is not None]
    assert "党员甲" in values and 2 in values and 2.5 in values

    with clock.freeze(local(2026, 4, 1, 7)):
        card, _ = operations.make_card(tree.U1, dt.date(2026, 3, 1), dt.date(2026, 4, 1))
        db.session.commit()
    r = client.get(f"/reports/cards/{card.id}")
    assert r.status_code == 200 and "党员甲" in r.text
    assert client.get(f"/reports/cards/{card.id}.pdf").data.startswith(b"%PDF")
    # Another unit's liaison cannot see it.
    other = client.application.test_client()
    other.login(tree.liaison2)
    assert other.get(f"/reports/cards/{card.id}").status_code == 404
    # District and street admins see units too.
    admin = client.application.test_client()
    admin.login(tree.district_admin)
    assert admin.get(f"/reports/cards/{card.id}").status_code == 200
    assert "区人民医院" in admin.get("/reports/units").text


def test_staff_notes(db, client, tree, march):
    m = member_of(db, tree.member)
    client.login(tree.staff)
    with clock.freeze(local(2026, 3, 25, 9)):
        r = client.post(f"/reports/members/{m.id}/evaluations",
                        data={"month": "2026-03", "note": "服务认真负责"})
        assert r.status_code == 302
        r = client.post(f"/reports/members/{m.id}/evaluations",
                        data={"month": "2026-05", "note": "未来的月份"})
        assert r.status_code == 400
    page = client.get(f"/reports/members/{m.id}/evaluations")
    assert "服务认真负责" in page.text
    from timebank.reports.models import MemberEvaluation

    note = db.session.query(MemberEvaluation).one()
    # Staff of another community cannot see or delete it.
    other = client.application.test_client()
    other.login(tree.staff3)
    assert other.get(f"/reports/members/{m.id}/evaluations").status_code == 404
    assert other.post(f"/reports/evaluations/{note.id}/delete").status_code == 404
    assert client.post(f"/reports/evaluations/{note.id}/delete").status_code == 302
    assert db.session.query(MemberEvaluation).count() == 0


def test_participation_rates(db, tree, march):
    figures = queries.unit_participation([tree.U1.id, tree.U2.id], dt.date(2026, 3, 1),
                                         dt.date(2026, 4, 1))
    assert figures[tree.U1.id] == {"registered": 3, "reported": 2, "active": 2}
    assert figures[tree.U2.id] == {"registered": 1, "reported": 1, "active": 0}
    april = queries.unit_participation([tree.U1.id], dt.date(2026, 4, 1), dt.date(2026, 5, 1))
    assert april[tree.U1.id]["active"] == 0  # 乙's service of 20 March verified on 1 April


def test_card_urls_default_to_the_page(app):
    from flask import url_for
    with app.test_request_context():
        assert url_for("reports.unit_card", unit_id=3).endswith("/units/3/card")
        assert url_for("reports.stored_card", card_id=7).endswith("/cards/7")
        assert url_for("reports.stored_card", card_id=7, fmt="pdf").endswith("/cards/7.pdf")
