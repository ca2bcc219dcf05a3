"""The demo district builds its history the real way (issue 13): every hour in its ledger is a
verified service record's, every month of its history has verified hours, hours are spent only
after they were earned, last year's award lists are final, the monthly feedback cards were made
and the inbox holds the messages the operations and jobs sent.

Seeding takes a while, so it is done once for the module, in a database of its own.
"""
from __future__ import annotations

import contextvars
import datetime as dt
import re
import shutil

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from timebank import create_app, demo, measures
from timebank.config import TestConfig
from timebank.core import clock

pytestmark = pytest.mark.slow


def _upgrade(url: str, instance) -> None:
    from flask_migrate import upgrade

    app = create_app(TestConfig(url, str(instance)))
    with app.app_context():
        upgrade(revision="heads")
        from timebank.extensions import db

        db.engine.dispose()


@pytest.fixture(scope="module")
def seeded(database, tmp_path_factory):
    """An app context on a database holding the demo district, seeded once."""
    folder = tmp_path_factory.mktemp("demo")
    admin = None
    if database.kind == "postgresql":
        base = sa.make_url(database.url)
        target = base.set(database=f"{base.database}_demo")
        admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
        url = target.render_as_string(hide_password=False)
        _upgrade(url, database.instance)
    else:
        path = folder / "demo.sqlite3"
        shutil.copyfile(database.template, path)
        url = f"sqlite:///{path}"
    app = create_app(TestConfig(url, str(database.instance)))
    app.config["TIMEBANK_LEDGER_CHECKPOINT_FILE"] = str(folder / "ledger-checkpoints.jsonl")
    from timebank.core.db import _sqlite_begin
    from timebank.extensions import db, limiter

    with app.app_context():
        summary = demo.seed()
        db.session.commit()
        token = _sqlite_begin.set("DEFERRED")
        limiter.reset()
        try:
            yield app, summary
        finally:
            _sqlite_begin.reset(token)
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()
    if admin is not None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def session(seeded):
    from timebank.extensions import db

    yield db.session
    db.session.rollback()


def _get(app, phone: str, path: str):
    """``path`` as the demo login ``phone`` sees it (the real login form, a request of its own)."""
    from timebank.extensions import db

    db.session.commit()
    client = app.test_client()

    def run():
        page = client.get("/auth/login")
        token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
        login = client.post("/auth/login", data={"phone": phone, "password": demo.DEMO_PASSWORD,
                                                 "csrf_token": token})
        assert login.status_code == 302, phone
        return client.get(path)

    return contextvars.Context().run(run)


def _member(session, phone: str):
    from timebank.accounts.models import User
    from timebank.members.models import Member

    return session.execute(select(Member).join(User, User.id == Member.user_id)
                           .where(User.phone == phone)).scalar_one()


def _months(first: dt.date, last: dt.date) -> list[tuple[int, int]]:
    out, (y, m) = [], (first.year, first.month)
    while (y, m) <= (last.year, last.month):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def test_every_deposit_is_a_verified_service_record(session):
    from timebank.ledger import verification
    from timebank.ledger.models import Transaction, TxKind
    from timebank.posts.models import RecordStatus, ServiceRecord

    deposits = session.execute(select(Transaction).where(
        Transaction.kind == TxKind.DEPOSIT.value)).scalars().all()
    assert len(deposits) > 1000
    assert {t.source_type for t in deposits} == {measures.SERVICE_SOURCE}
    records = {r.id: r for r in session.execute(select(ServiceRecord).where(
        ServiceRecord.id.in_([t.source_id for t in deposits]))).scalars()}
    for t in deposits:
        record = records[t.source_id]
        assert record.transaction_id == t.id
        assert record.status in (RecordStatus.VERIFIED, RecordStatus.REVOKED)
        assert t.service_minutes == record.minutes > 0
        # Deposited when staff verified it, after the service was done.
        assert record.ended_at < t.created_at
        if record.status == RecordStatus.VERIFIED:
            assert record.reviewed_at == t.created_at
    # A withdrawn verification took its hours back.
    revoked = [r for r in records.values() if r.status == RecordStatus.REVOKED]
    reversed_ids = set(session.execute(select(Transaction.reverses_id).where(
        Transaction.kind == TxKind.REVERSAL.value)).scalars())
    assert revoked and {r.transaction_id for r in revoked} <= reversed_ids
    # Written in the order it happened: the ledger's order is the calendar's.
    times = session.execute(select(Transaction.created_at).order_by(Transaction.id)).scalars().all()
    assert times == sorted(times)
    assert verification.verify() == []


def test_every_month_of_the_history_has_verified_hours(session):
    today = clock.today()
    for first, last in demo.history_periods(today):
        months = _months(first, last)
        if last == today and today.day <= 3:
            months = months[:-1]  # the month's first records are verified a day or two later
        for year, month in months:
            assert measures.verified_service_minutes(
                None, measures.Period.month(year, month)) > 0, (year, month)
    assert demo.history_periods(today)[-1] == (dt.date(today.year, 7, 1), today) \
        or today < dt.date(today.year, 8, 1)


def test_hours_are_spent_only_after_they_were_earned(session):
    from timebank.ledger.models import Transaction, TxKind

    spent = session.execute(select(Transaction.kind, func.count()).where(
        Transaction.kind.in_([TxKind.REDEMPTION.value, TxKind.RELAY.value]))
        .group_by(Transaction.kind)).all()
    assert dict(spent).keys() == {TxKind.REDEMPTION.value, TxKind.RELAY.value}
    # No overdraft at any time: the running balances (checked by verify above) never dip
    # below zero, and the first spending comes after the first month of deposits.
    first_spend = session.execute(select(func.min(Transaction.created_at)).where(
        Transaction.kind.in_([TxKind.REDEMPTION.value, TxKind.RELAY.value]))).scalar_one()
    first_deposit = session.execute(select(func.min(Transaction.created_at)).where(
        Transaction.kind == TxKind.DEPOSIT.value)).scalar_one()
    assert first_spend > first_deposit + dt.timedelta(days=28)
    from timebank.ledger.models import ACCOUNTS, POSTINGS, AccountKind

    assert session.execute(select(func.min(POSTINGS.c.balance_after)).select_from(
        POSTINGS.join(ACCOUNTS, ACCOUNTS.c.id == POSTINGS.c.account_id))
        .where(ACCOUNTS.c.kind == AccountKind.MEMBER.value)).scalar_one() >= 0


def test_the_demo_member_has_a_real_history(seeded, session):
    from timebank.ledger.models import Transaction, TxKind
    from timebank.ledger import queries as ledger
    from timebank.posts.models import RecordStatus, ServiceRecord

    app, _summary = seeded
    member = _member(session, "13800000005")
    verified = session.execute(select(ServiceRecord).where(
        ServiceRecord.member_id == member.id,
        ServiceRecord.status == RecordStatus.VERIFIED.value)).scalars().all()
    assert len(verified) >= 3
    assert len({clock.to_local(r.started_at).strftime("%Y-%m") for r in verified}) >= 3
    assert measures.verified_service_minutes(member=member) == sum(
        r.minutes for r in verified)
    # Spent some on the family member registered for it, never more than was there.
    assert session.execute(select(func.count()).where(
        Transaction.kind == TxKind.REDEMPTION.value,
        Transaction.beneficiary_id.is_not(None))).scalar_one() >= 1
    assert ledger.member_figures(member).service_minutes == sum(r.minutes for r in verified)
    # Staff still have records to verify, in the demo staff's community too.
    pending = session.execute(select(ServiceRecord.community_id).where(
        ServiceRecord.status == RecordStatus.PENDING.value)).scalars().all()
    assert member.community_id in pending
    page = _get(app, "13800000005", "/posts/card")
    assert page.status_code == 200


def test_last_years_lists_are_frozen_and_this_years_is_in_notice(session):
    from timebank.recognition import queries
    from timebank.recognition.models import AwardList, ListStatus

    today = clock.today()
    lists = session.execute(select(AwardList).order_by(AwardList.id)).scalars().all()
    last_year = [a for a in lists if a.year == today.year - 1]
    if today >= dt.date(today.year, 2, 1):
        assert {a.kind for a in last_year} == {"outstanding_volunteer", "outstanding_member"}
        for a in last_year:
            assert a.status == ListStatus.FROZEN and a.figures_sha256
            assert queries.active_nominees(a)
        district = next(a for a in last_year if a.scope.kind == "district")
        assert queries.objections(district)
        assert queries.snapshot(today.year - 1, district.scope) is not None
    this_year = [a for a in lists if a.year == today.year]
    assert [a.status for a in this_year] == [ListStatus.PUBLISHED]
    assert this_year[0].notice_open()
    assert queries.count(this_year[0].scope, today.year) >= 3


def test_feedback_cards_were_made_for_each_past_month(seeded, session):
    from timebank.inbox.models import Message
    from timebank.orgs.models import OrgNode
    from timebank.reports.models import FeedbackCard

    app, _summary = seeded
    today = clock.today()
    unit = session.execute(select(OrgNode).where(OrgNode.name == demo.UNITS[0])).scalar_one()
    cards = session.execute(select(FeedbackCard).where(FeedbackCard.unit_id == unit.id)
                            ).scalars().all()
    made = {(c.period_start.year, c.period_start.month) for c in cards}
    this_month = (today.year, today.month)
    for first, last in demo.history_periods(today):
        for month in _months(first, last):
            if month != this_month:
                assert month in made, month
    assert all(c.created_at == clock.local_datetime(c.period_end, dt.time(7)) for c in cards)
    # The card made on the morning of the 1st counts the hours verified in its month, as the
    # ledger still does.
    from timebank.ledger.queries import service_minutes
    from timebank.reports.queries import Card

    july = min(cards, key=lambda c: (c.period_start.month != 7, c.period_start))
    figures = Card.from_json(july.figures_json)
    counted = sum(r.minutes for r in figures.rows)
    assert counted > 0
    assert counted == sum(service_minutes(
        [r.member_id for r in figures.rows], clock.local_day_bounds(july.period_start)[0],
        clock.local_day_bounds(july.period_end)[0]).values())
    liaison = session.execute(select(Message).where(
        Message.dedup_key.like("feedback-card:%"), Message.link == f"/reports/cards/{july.id}"
    )).scalars().all()
    assert liaison
    page = _get(app, "13800000004", f"/reports/units/{unit.id}")
    assert page.status_code == 200 and f"/reports/cards/{july.id}" in page.text
    assert _get(app, "13800000004", f"/reports/cards/{july.id}").status_code == 200


def test_the_inbox_holds_what_the_operations_and_jobs_sent(seeded, session):
    from timebank.inbox.models import Message

    app, _summary = seeded
    member = _member(session, "13800000005")
    keys = session.execute(select(Message.dedup_key).where(
        Message.recipient_id == member.user_id)).scalars().all()
    assert any(k.startswith("reminder:") for k in keys)
    kinds = {k.split(":")[0] for k in session.execute(select(Message.dedup_key).where(
        Message.dedup_key.is_not(None))).scalars()}
    assert {"reminder", "feedback-card", "award", "record-rejected", "record-revoked",
            "post-cancelled", "members.pending"} <= kinds
    page = _get(app, "13800000005", "/inbox/")
    assert page.status_code == 200 and "明日服务提醒" in page.text
