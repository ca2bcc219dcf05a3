"""kill -9 of the scheduler in the middle of a job: the run is not left "running" for hours; the
next scheduler marks it failed when it starts and runs the period again."""
from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from timebank.core import clock

HELPER = Path(__file__).with_name("kill_proc.py")


def _start(db_url, instance, out, mode, frozen):
    return subprocess.Popen([sys.executable, str(HELPER), db_url, str(instance), str(out), mode,
                             frozen.isoformat()], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _wait_for(predicate, what: str, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _run_row(db):
    from timebank.jobs.models import JobRun

    db.session.rollback()
    return db.session.execute(
        select(JobRun).where(JobRun.job_id == "test.slow")
        .execution_options(populate_existing=True)).scalar_one_or_none()


@pytest.mark.slow
def test_a_killed_scheduler_leaves_its_run_failed_and_rerun(app, db, db_url, database,
                                                            tmp_path):
    from timebank.jobs import queries

    out = tmp_path / "runs.txt"
    frozen = clock.now().replace(microsecond=0) - dt.timedelta(seconds=5)
    period = frozen.replace(second=0)
    db.session.commit()
    first = _start(db_url, database.instance, out, "hang", frozen)
    second = None
    try:
        _wait_for(lambda: out.exists() and "hang" in out.read_text(), "the job to start")
        row = _run_row(db)
        assert (row.outcome, row.scheduled_for) == ("running", period)
        assert queries.heartbeat_at() is not None  # it beat when it took the lock
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        assert first.returncode == -signal.SIGKILL
        assert _run_row(db).outcome == "running"  # what the killed process left

        second = _start(db_url, database.instance, out, "finish", frozen)
        # It first fails the orphaned run, then runs the period again (attempt 2): wait for the
        # second attempt to settle, not for the failure it passes through.
        row = _wait_for(lambda: (r := _run_row(db)) is not None and r.attempts >= 2
                        and r.outcome != "running" and r, "the next scheduler to rerun the run")
        assert row.outcome == "ok" and row.attempts == 2, (row.outcome, row.error)
        assert row.summary == "finished"
        lines = out.read_text().split()
        assert lines[0] == "hang" and "finish" in lines
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def test_orphaned_runs_of_the_schedule_are_failed_cli_runs_are_not(db):
    from timebank.jobs import operations

    period = clock.now().replace(microsecond=0)
    for job_id, origin in (("a.job", "schedule"), ("b.job", "request"), ("c.job", "cli")):
        operations.claim_run(job_id, period, origin, None, stale_before=period)
    db.session.commit()
    assert sorted(operations.fail_orphaned_runs()) == [("a.job", period), ("b.job", period)]
    db.session.commit()
    from timebank.jobs.models import JobRun

    outcomes = dict(db.session.execute(select(JobRun.job_id, JobRun.outcome)).all())
    assert outcomes == {"a.job": "failed", "b.job": "failed", "c.job": "running"}
    # Failed periods may be claimed again at once (no waiting for the stale-run timeout).
    assert operations.claim_run("a.job", period, "schedule", None,
                                stale_before=period - dt.timedelta(hours=3)) is not None
