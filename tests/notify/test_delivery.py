"""Queueing, the job (retries, backoff, giving up, quiet hours, no double send) and codes."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from notify_fixtures import WEBHOOK_SECRET
from timebank.core import clock
from timebank.core.errors import Invalid
from timebank.inbox import operations as inbox
from timebank.notify import delivery, operations
from timebank.notify.models import Delivery, DeliveryPreference

T0 = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.timezone.utc)  # 10:00 in Beijing


def local(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return clock.local_datetime(dt.date(2026, 12, day), dt.time(hour, minute))


@pytest.fixture
def frozen():
    with clock.freeze(T0):
        yield


def prefer(db, user, channels, email=None, quiet=(None, None)):
    operations.save_preferences(user, channels, email, *quiet)
    db.session.commit()


def deliveries(db, **where) -> list[Delivery]:
    db.session.expire_all()
    query = select(Delivery).order_by(Delivery.id)
    for key, value in where.items():
        query = query.where(getattr(Delivery, key) == value)
    return db.session.execute(query).scalars().all()


def run(app, at: dt.datetime | None = None):
    if at is not None:
        clock.freeze_at(at)
    return delivery.send_due(app.config)


def test_a_message_queues_the_channels_the_member_chose(app, db, tree, frozen, smtp_server,
                                                       wecom_server, webhook_server,
                                                       notify_config):
    notify_config(smtp=smtp_server, wecom=wecom_server, webhook=webhook_server)
    prefer(db, tree.member, ["email", "wecom"], "jia@example.org")
    message = inbox.send(tree.member, "报到已通过", "欢迎")
    inbox.send(tree.staff, "无偏好的人")  # no preferences, no default channels: inbox only
    db.session.commit()
    rows = deliveries(db)
    assert [(r.message_id, r.channel, r.address, r.status) for r in rows] == [
        (message.id, "email", "jia@example.org", "queued"), (message.id, "wecom", None, "queued")]
    assert all(r.next_attempt_at == T0 for r in rows)
    # The dedup key returns the first message and queues nothing more.
    inbox.send(tree.member, "again", dedup_key="k1")
    inbox.send(tree.member, "again", dedup_key="k1")
    db.session.commit()
    assert len(deliveries(db)) == 4


def test_default_channels_and_nothing_without_configuration(app, db, tree, wecom_server,
                                                           notify_config):
    inbox.send(tree.member, "no channel configured")
    db.session.commit()
    assert deliveries(db) == []
    notify_config(wecom=wecom_server, TIMEBANK_NOTIFY_DEFAULT_CHANNELS="wecom,sms")
    inbox.send(tree.member, "default channels")
    db.session.commit()
    assert [r.channel for r in deliveries(db)] == ["wecom"]  # sms is not configured
    tree.staff.active = False
    inbox.send(tree.staff, "deactivated")
    db.session.commit()
    assert len(deliveries(db)) == 1


def test_a_message_that_rolls_back_is_never_delivered(app, db, tree, wecom_server,
                                                     notify_config):
    notify_config(wecom=wecom_server, TIMEBANK_NOTIFY_DEFAULT_CHANNELS="wecom")
    inbox.send(tree.member, "rolled back")
    db.session.rollback()
    run(app)
    assert deliveries(db) == [] and wecom_server.requests == []


def test_the_job_sends_once_and_a_second_run_sends_nothing(app, db, tree, frozen, smtp_server,
                                                          sms_server, notify_config):
    notify_config(smtp=smtp_server, sms=sms_server)
    prefer(db, tree.member, ["email", "sms"], "jia@example.org")
    inbox.send(tree.member, "明天的服务提醒", "东风社区 9:00", link="/posts/1")
    db.session.commit()
    counts = run(app)
    assert counts.sent == 2
    assert [r.status for r in deliveries(db)] == ["sent", "sent"]
    assert all(r.attempts == 1 and r.sent_at == T0 for r in deliveries(db))
    [mail] = smtp_server.handler.messages
    assert mail["Subject"] == "明天的服务提醒"
    [sms] = sms_server.accepted
    assert sms.json()["PhoneNumberSet"] == [f"+86{tree.member.phone}"]
    assert run(app).sent == 0
    assert len(smtp_server.handler.messages) == 1 and len(sms_server.requests) == 1


def test_failures_are_retried_with_exponential_backoff(app, db, tree, frozen, wecom_server,
                                                      notify_config):
    notify_config(wecom=wecom_server, TIMEBANK_NOTIFY_DEFAULT_CHANNELS="wecom")
    wecom_server.fail_first = [(502, {}), (200, {"errcode": 45009, "errmsg": "freq"})]
    inbox.send(tree.member, "提醒")
    db.session.commit()
    assert run(app).retrying == 1
    [row] = deliveries(db)
    assert (row.status, row.attempts, row.last_error) == ("failed", 1, "HTTP 502")
    assert row.next_attempt_at == T0 + dt.timedelta(seconds=60)
    run(app, T0 + dt.timedelta(seconds=59))  # not due yet
    assert len(wecom_server.requests) == 1
    run(app, T0 + dt.timedelta(seconds=60))
    [row] = deliveries(db)
    assert (row.status, row.attempts) == ("failed", 2) and "45009" in row.last_error
    assert row.next_attempt_at == T0 + dt.timedelta(seconds=60 + 120)
    run(app, T0 + dt.timedelta(seconds=180))
    [row] = deliveries(db)
    assert (row.status, row.attempts) == ("sent", 3)
    assert len(wecom_server.requests) == 3 and len(wecom_server.accepted) == 1


def test_gives_up_after_the_maximum_attempts(app, db, tree, frozen, wecom_server, notify_config):
    notify_config(wecom=wecom_server, TIMEBANK_NOTIFY_DEFAULT_CHANNELS="wecom",
                  TIMEBANK_NOTIFY_MAX_ATTEMPTS=3, TIMEBANK_NOTIFY_BACKOFF_SECONDS=10)
    wecom_server.fail_first = [(503, {})] * 10
    inbox.send(tree.member, "提醒")
    db.session.commit()
    for minutes in range(6):
        run(app, T0 + dt.timedelta(minutes=minutes))
    [row] = deliveries(db)
    assert (row.status, row.attempts, row.next_attempt_at) == ("gave_up", 3, None)
    assert len(wecom_server.requests) == 3


def test_a_permanent_error_gives_up_at_once_and_keeps_no_secret(app, db, tree, frozen,
                                                               webhook_server, wecom_server,
                                                               notify_config):
    notify_config(wecom=wecom_server, webhook=webhook_server,
                  TIMEBANK_NOTIFY_DEFAULT_CHANNELS="webhook,wecom")
    wecom_server.fail_first = [(200, {"errcode": 93000,
                                      "errmsg": "invalid webhook url key=robot-key"})]
    inbox.send(tree.member, "提醒")
    db.session.commit()
    app.config["TIMEBANK_WEBHOOK_SECRET"] = "a-wrong-secret-for-the-test"
    run(app)
    rows = deliveries(db)
    assert [(r.channel, r.status, r.attempts) for r in rows] == [
        ("wecom", "gave_up", 1), ("webhook", "gave_up", 1)]
    errors = " ".join(r.last_error for r in rows)
    assert "HTTP 401" in errors and "93000" in errors
    assert "robot-key" not in errors and WEBHOOK_SECRET not in errors
    assert "a-wrong-secret" not in errors


def test_quiet_hours_defer_to_their_end(app, db, tree, wecom_server, notify_config):
    notify_config(wecom=wecom_server)
    with clock.freeze(local(7, 23)):
        prefer(db, tree.member, ["wecom"], quiet=(dt.time(22, 0), dt.time(7, 0)))
        inbox.send(tree.member, "夜里的消息")
        db.session.commit()
    [row] = deliveries(db)
    assert row.next_attempt_at == local(8, 7)
    run(app, local(8, 6, 59))
    assert wecom_server.requests == []
    run(app, local(8, 7))
    assert [r.status for r in deliveries(db)] == ["sent"]


def test_quiet_hours_set_after_queueing_still_defer(app, db, tree, wecom_server, notify_config):
    notify_config(wecom=wecom_server)
    with clock.freeze(local(7, 12, 30)):
        prefer(db, tree.member, ["wecom"])
        inbox.send(tree.member, "午休时间的消息")
        prefer(db, tree.member, ["wecom"], quiet=(dt.time(12, 0), dt.time(14, 0)))
        assert run(app).deferred == 1
    [row] = deliveries(db)
    assert (row.status, row.attempts, row.next_attempt_at) == ("queued", 0, local(7, 14))
    assert wecom_server.requests == []
    # A retry that would fall into the quiet hours waits for their end as well.
    row.next_attempt_at = local(7, 11, 59)
    db.session.commit()
    wecom_server.fail_first = [(502, {})]
    run(app, local(7, 11, 59))
    [row] = deliveries(db)
    assert row.status == "failed" and row.next_attempt_at == local(7, 14)
    run(app, local(7, 14))
    assert [r.status for r in deliveries(db)] == ["sent"]


@pytest.mark.parametrize("start, end, at, until", [
    ((22, 0), (7, 0), (23, 30), (8, 7, 0)),
    ((22, 0), (7, 0), (1, 0), (7, 7, 0)),
    ((22, 0), (7, 0), (7, 0), None),
    ((22, 0), (7, 0), (21, 59), None),
    ((12, 0), (14, 0), (13, 0), (7, 14, 0)),
    ((12, 0), (14, 0), (14, 30), None),
])
def test_quiet_until(start, end, at, until):
    result = delivery.quiet_until(dt.time(*start), dt.time(*end), local(7, *at))
    assert result == (local(*until) if until else None)


def test_backoff_doubles_up_to_the_cap():
    waits = [delivery.backoff(n, 60, 600).total_seconds() for n in range(1, 6)]
    assert waits == [60, 120, 240, 480, 600]


def test_parallel_runs_never_send_a_delivery_twice(app, db, make_user, frozen, wecom_server,
                                                   notify_config):
    from tests.parallel import run_parallel

    notify_config(wecom=wecom_server, TIMEBANK_NOTIFY_DEFAULT_CHANNELS="wecom")
    users = [make_user() for _ in range(12)]
    for user in users:
        inbox.send(user, f"消息 {user.id}")
    db.session.commit()
    wecom_server.delay = 0.02  # both runs read the same due rows before either finishes
    results = run_parallel(app, db, [lambda: delivery.send_due(app.config)] * 2)
    assert all(isinstance(r, delivery.RunCounts) for r in results), results
    assert sum(r.sent for r in results) == 12
    contents = sorted(r.json()["text"]["content"] for r in wecom_server.requests)
    assert contents == sorted(f"消息 {u.id}" for u in users)
    assert {(r.status, r.attempts) for r in deliveries(db)} == {("sent", 1)}


def test_a_delivery_interrupted_while_sending_is_given_up_not_resent(app, db, tree, frozen,
                                                                    wecom_server, notify_config):
    notify_config(wecom=wecom_server, TIMEBANK_NOTIFY_DEFAULT_CHANNELS="wecom")
    inbox.send(tree.member, "提醒")
    db.session.commit()
    [row] = deliveries(db)
    row.status, row.claimed_at, row.attempts = "sending", T0, 1
    db.session.commit()
    assert run(app, T0 + dt.timedelta(minutes=5)).stale == 0
    assert run(app, T0 + dt.timedelta(minutes=16)).stale == 1
    [row] = deliveries(db)
    assert row.status == "gave_up" and "interrupted" in row.last_error
    assert wecom_server.requests == []


def test_retry_queues_a_given_up_delivery_again(app, db, tree, frozen, wecom_server,
                                               notify_config):
    notify_config(wecom=wecom_server, TIMEBANK_NOTIFY_DEFAULT_CHANNELS="wecom")
    wecom_server.fail_first = [(200, {"errcode": 93000, "errmsg": "bad"})]
    inbox.send(tree.member, "提醒")
    db.session.commit()
    run(app)
    [row] = deliveries(db)
    assert row.status == "gave_up"
    operations.retry(row, tree.district_admin)
    db.session.commit()
    with pytest.raises(Invalid):
        operations.retry(row, tree.district_admin)  # queued, not failed
    run(app)
    assert [(r.status, r.attempts) for r in deliveries(db)] == [("sent", 1)]


def test_the_job_runs_through_the_job_table(app, db, tree, frozen, wecom_server, notify_config):
    from timebank.jobs import runner, table

    notify_config(wecom=wecom_server, TIMEBANK_NOTIFY_DEFAULT_CHANNELS="wecom")
    inbox.send(tree.member, "提醒")
    db.session.commit()
    job = table.get_job("notify.send_due")
    outcome = runner.execute(job, table.latest_fire_time(job, clock.now()))
    assert outcome.outcome == "ok" and outcome.summary.startswith("1 sent")
    assert len(wecom_server.accepted) == 1


# --- one-time codes ------------------------------------------------------------------------------

def test_send_code_by_sms_ignores_quiet_hours_and_keeps_no_code(app, db, frozen, sms_server,
                                                               smtp_server, notify_config):
    notify_config(sms=sms_server, smtp=smtp_server)
    sent = operations.send_code("+86 139-0000-0009", "482913", "resident_login")
    db.session.commit()
    assert (sent.channel, sent.address, sent.status, sent.urgent) == (
        "sms", "13900000009", "sent", True)
    [req] = sms_server.accepted
    assert req.json()["TemplateParamSet"] == ["482913"]
    assert "482913" not in repr([(r.address, r.purpose, r.last_error) for r in deliveries(db)])
    operations.send_code("resident@example.org", "739201", "resident_login")
    [mail] = smtp_server.handler.messages
    assert "739201" in mail.get_content()


def test_send_code_failures(app, db, frozen, sms_server, wecom_server, notify_config):
    notify_config(wecom=wecom_server)
    with pytest.raises(operations.CodeNotSent):  # a group robot never carries codes
        operations.send_code("13900000009", "482913", "resident_login")
    notify_config(sms=sms_server)
    with pytest.raises(Invalid) as err:
        operations.send_code("12345", "482913", "resident_login")
    assert err.value.details["field"] == "to"
    with pytest.raises(Invalid):
        operations.send_code("13900000009", "48 29", "resident_login")
    sms_server.fail_first = [(200, {"Response": {"Error": {"Code": "InternalError.Timeout"},
                                                 "RequestId": "x"}})]
    with pytest.raises(operations.CodeNotSent) as err:
        operations.send_code("13900000009", "482913", "resident_login")
    assert err.value.delivery.status == "gave_up" and err.value.details["retryable"]
    db.session.commit()
    [row] = deliveries(db)
    assert "482913" not in row.last_error and row.purpose == "resident_login"
    # A failed code is never picked up by the job (the code is not kept to resend).
    assert run(app).sent == 0 and len(sms_server.requests) == 1


def test_preferences_validation(app, db, tree, smtp_server, wecom_server, notify_config):
    notify_config(smtp=smtp_server, wecom=wecom_server)
    cases = [
        (["sms"], None, (None, None), "channels"),
        (["email"], None, (None, None), "email"),
        (["wecom"], "not-an-address", (None, None), "email"),
        (["wecom"], None, (dt.time(22), None), "quiet_end"),
        (["wecom"], None, (dt.time(22), dt.time(22)), "quiet_end"),
    ]
    for channels, email, quiet, field in cases:
        with pytest.raises(Invalid) as err:
            operations.save_preferences(tree.member, channels, email, *quiet)
        assert err.value.details["field"] == field
    db.session.rollback()
    assert db.session.get(DeliveryPreference, tree.member.id) is None
