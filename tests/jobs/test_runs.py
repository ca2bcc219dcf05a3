"""Job runs: one per period, failures recorded and retryable, "run now" only queues."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from timebank.jobs import runner, table
from timebank.core import clock
from timebank.jobs.models import JobRequest, JobRun

CALLS: list = []

SH = clock.LOCAL_TZ


def body(scheduled_for):
    CALLS.append(scheduled_for)
    return f"did {len(CALLS)}"


def body_without_period():
    CALLS.append("no-arg")


def failing(scheduled_for):
    CALLS.append(scheduled_for)
    if len(CALLS) == 1:
        raise RuntimeError("boom")
    return "recovered"


def skipping(scheduled_for):
    raise table.JobSkipped("nothing to do")


@pytest.fixture
def fake_jobs(monkeypatch):
    CALLS.clear()
    jobs = [
        table.Job("test.body", f"{__name__}:body", {"hour": 3, "minute": 30}, "body"),
        table.Job("test.noarg", f"{__name__}:body_without_period", {"minute": "*/15"}, "n"),
        table.Job("test.failing", f"{__name__}:failing", {"hour": 3}, "failing"),
        table.Job("test.skipping", f"{__name__}:skipping", {"hour": 3}, "skipping"),
        table.Job("test.missing", "timebank.no_such_feature.tasks:run", {"hour": 3}, "m"),
    ]
    monkeypatch.setattr(table, "JOBS", jobs)
    return {j.id: j for j in jobs}


def _period(*args):
    return dt.datetime(*args, tzinfo=SH).astimezone(clock.UTC)


def _runs(db):
    return db.session.execute(select(JobRun).order_by(JobRun.id)).scalars().all()


def test_a_period_runs_once(db, fake_jobs):
    job, period = fake_jobs["test.body"], _period(2026, 3, 5, 3, 30)
    first = runner.execute(job, period)
    second = runner.execute(job, period)
    assert (first.outcome, first.summary) == ("ok", "did 1")
    assert second.outcome == "duplicate"
    assert CALLS == [period]
    [run] = _runs(db)
    assert (run.job_id, run.scheduled_for, run.outcome, run.summary) == (
        "test.body", period, "ok", "did 1")
    assert run.finished_at is not None
    # The next period is a new run.
    assert runner.execute(job, period + dt.timedelta(days=1)).outcome == "ok"
    assert len(CALLS) == 2


def test_body_without_period_argument(db, fake_jobs):
    assert runner.execute(fake_jobs["test.noarg"], _period(2026, 3, 5, 3, 15)).outcome == "ok"
    assert CALLS == ["no-arg"]


def test_failure_is_recorded_and_the_period_can_be_retried(db, fake_jobs):
    job, period = fake_jobs["test.failing"], _period(2026, 3, 5, 3)
    out = runner.execute(job, period)
    assert out.outcome == "failed"
    [run] = _runs(db)
    assert run.outcome == "failed" and "RuntimeError: boom" in run.error
    again = runner.execute(job, period, origin="cli")
    assert again.outcome == "ok"
    db.session.expire_all()
    [run] = _runs(db)
    assert (run.outcome, run.attempts, run.origin, run.error) == ("ok", 2, "cli", None)
    # A period that succeeded is not run again.
    assert runner.execute(job, period).outcome == "duplicate"
    assert len(CALLS) == 2


def test_skipped_and_missing_modules(db, fake_jobs):
    out = runner.execute(fake_jobs["test.skipping"], _period(2026, 3, 5, 3))
    assert (out.outcome, out.summary) == ("skipped", "nothing to do")
    out = runner.execute(fake_jobs["test.missing"], _period(2026, 3, 5, 3))
    assert out.outcome == "failed"
    assert "timebank.no_such_feature.tasks:run is not available" in out.summary
    assert {r.outcome for r in _runs(db)} == {"skipped", "failed"}


def test_a_stale_running_row_may_be_taken_over(db, fake_jobs):
    job, period = fake_jobs["test.body"], _period(2026, 3, 5, 3, 30)
    with clock.freeze(_period(2026, 3, 5, 3, 30)):
        db.session.add(JobRun(job_id=job.id, scheduled_for=period, started_at=clock.now(),
                              outcome="running", origin="schedule", attempts=1))
        db.session.commit()
    with clock.freeze(_period(2026, 3, 5, 4, 0)):
        assert runner.execute(job, period).outcome == "duplicate"  # still running
    with clock.freeze(_period(2026, 3, 5, 7, 0)):
        assert runner.execute(job, period).outcome == "ok"  # its runner died
    assert CALLS == [period]


@pytest.mark.parametrize(("cron", "at", "expected"), [
    ({"hour": 3, "minute": 30}, (2026, 3, 5, 3, 29), (2026, 3, 4, 3, 30)),
    ({"hour": 3, "minute": 30}, (2026, 3, 5, 3, 30), (2026, 3, 5, 3, 30)),
    ({"minute": "*/15"}, (2026, 3, 5, 10, 44, 59), (2026, 3, 5, 10, 30)),
    ({"day": 1, "hour": 7, "minute": 0}, (2026, 3, 1, 6, 59), (2026, 2, 1, 7, 0)),
    ({"month": 1, "day": 1, "hour": 1, "minute": 0}, (2026, 12, 31, 23), (2026, 1, 1, 1, 0)),
    ({"month": 1, "day": 1, "hour": 1, "minute": 0}, (2027, 1, 1, 1, 0), (2027, 1, 1, 1, 0)),
])
def test_latest_fire_time_is_in_shanghai(cron, at, expected):
    job = table.Job("x", "x:y", cron, "x")
    assert table.latest_fire_time(job, _period(*at)) == _period(*expected)


def test_next_fire_time():
    job = table.Job("x", "x:y", {"hour": 3, "minute": 30}, "x")
    # 2026-03-05 20:00 UTC is 03-06 04:00 in Shanghai: the next run is 03-07 03:30 local.
    at = dt.datetime(2026, 3, 5, 20, tzinfo=clock.UTC)
    assert table.next_fire_time(job, at) == _period(2026, 3, 7, 3, 30)


def test_the_job_table_is_well_formed():
    ids = [j.id for j in table.JOBS]
    assert len(ids) == len(set(ids))
    for job in table.JOBS:
        job.trigger()  # valid cron fields
        assert ":" in job.func and job.misfire_grace_time > 0
    assert {"posts.remind_tomorrow", "posts.close_past_deadline", "posts.mark_no_shows",
            "posts.promote_waiting", "matching.nightly", "ledger.verify",
            "feedback.monthly_cards", "recognition.year_end"} <= set(ids)


def test_run_now_from_the_page_only_queues(db, client, tree, fake_jobs):
    client.login(tree.district_admin)
    with clock.freeze(_period(2026, 3, 5, 9, 0)):
        r = client.post("/jobs/test.body/run")
    assert r.status_code == 302
    # The web worker ran nothing: a request waits for the scheduler process.
    assert CALLS == [] and _runs(db) == []
    [req] = db.session.execute(select(JobRequest)).scalars().all()
    assert (req.job_id, req.status, req.scheduled_for) == (
        "test.body", "pending", _period(2026, 3, 5, 3, 30))
    assert req.requested_by_id == tree.district_admin.id

    # What the scheduler process does every few seconds:
    [out] = runner.run_requests()
    assert out.outcome == "ok" and CALLS == [_period(2026, 3, 5, 3, 30)]
    db.session.expire_all()
    assert (req.status, req.result) == ("done", "ok")
    assert req.run_id == _runs(db)[0].id

    # A second "run now" for the same period is recorded as a duplicate and runs nothing.
    with clock.freeze(_period(2026, 3, 5, 9, 5)):
        client.post("/jobs/test.body/run")
    [out] = runner.run_requests()
    assert out.outcome == "duplicate" and len(CALLS) == 1
    assert db.session.execute(select(func.count()).select_from(JobRun)).scalar_one() == 1


def test_admin_page(db, client, tree, fake_jobs):
    runner.execute(fake_jobs["test.failing"], _period(2026, 3, 5, 3))
    client.login(tree.district_admin)
    r = client.get("/jobs/")
    assert r.status_code == 200
    assert "定时任务" in r.text and "test.failing" in r.text and "RuntimeError: boom" in r.text
    r = client.get("/jobs/test.failing")
    assert r.status_code == 200 and "失败" in r.text
    assert client.get("/jobs/no.such.job").status_code == 404
    assert client.post("/jobs/no.such.job/run").status_code == 404


def test_real_job_table_page(db, client, tree):
    client.login(tree.district_admin)
    r = client.get("/jobs/")
    assert r.status_code == 200
    for job in table.JOBS:
        assert f'href="/jobs/{job.id}"' in r.text  # linked, by its title
        assert f">{job.id}<" not in r.text and job.schedule_text() not in r.text
    assert "每月1日 07:00" in r.text and "每 15 分钟" in r.text


def test_cli(app, db, fake_jobs):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["jobs", "run", "test.body", "--for", "2026-03-05T12:00"])
    assert result.exit_code == 0, result.output
    assert "test.body for 2026-03-05 03:30: ok" in result.output
    result = runner.invoke(args=["jobs", "run", "test.body", "--for", "2026-03-05T23:59"])
    assert "duplicate" in result.output
    assert len(CALLS) == 1
    result = runner.invoke(args=["jobs", "run", "test.missing"])
    assert result.exit_code == 1
    result = runner.invoke(args=["jobs", "run", "nope"])
    assert result.exit_code == 2
    result = runner.invoke(args=["jobs", "list"])
    assert result.exit_code == 0 and "test.body" in result.output
