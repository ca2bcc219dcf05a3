"""Writes on job runs and requests. They flush, never commit: the scheduler's ``execute``,
the CLI and the admin page are the boundaries that commit."""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from timebank.accounts.models import Role
from timebank.audit import operations as audit
from timebank.core import clock, settings
from timebank.core.errors import Forbidden, NotFound
from timebank.extensions import db
from timebank.jobs import table
from timebank.jobs.models import JobRequest, JobRun, RunOutcome


def claim_run(job_id: str, scheduled_for: dt.datetime, origin: str,
              requested_by_id: int | None, stale_before: dt.datetime) -> int | None:
    """Start the run of ``job_id`` for a period: the id of the new run row, or None if the period
    already ran or is running elsewhere.

    The insert is the claim: ``UNIQUE(job_id, scheduled_for)`` lets exactly one of several
    concurrent claimants through, on both databases. A period whose run failed or was skipped,
    or whose runner died (a "running" row older than ``stale_before``), may be claimed again,
    by a conditional update that, again, only one claimant wins.
    """
    now = clock.now()
    try:
        with db.session.begin_nested():
            run = JobRun(job_id=job_id, scheduled_for=scheduled_for, started_at=now,
                         outcome=RunOutcome.RUNNING.value, origin=origin,
                         requested_by_id=requested_by_id, attempts=1)
            db.session.add(run)
        return run.id
    except IntegrityError:
        pass
    result = db.session.execute(
        update(JobRun)
        .where(JobRun.job_id == job_id, JobRun.scheduled_for == scheduled_for,
               or_(JobRun.outcome.in_([RunOutcome.FAILED.value, RunOutcome.SKIPPED.value]),
                   (JobRun.outcome == RunOutcome.RUNNING.value)
                   & (JobRun.started_at < stale_before)))
        .values(outcome=RunOutcome.RUNNING.value, started_at=now, finished_at=None, error=None,
                summary=None, attempts=JobRun.attempts + 1, origin=origin,
                requested_by_id=requested_by_id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    return find_run(job_id, scheduled_for).id


def find_run(job_id: str, scheduled_for: dt.datetime) -> JobRun | None:
    return db.session.execute(
        select(JobRun).where(JobRun.job_id == job_id, JobRun.scheduled_for == scheduled_for)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def finish_run(run_id: int, outcome: str, summary: str | None = None,
               error: str | None = None) -> None:
    db.session.execute(
        update(JobRun).where(JobRun.id == run_id)
        .values(outcome=outcome, finished_at=clock.now(), summary=summary,
                error=error[:4000] if error else None)
        .execution_options(synchronize_session=False)
    )


def request_run(actor, job_id: str, scheduled_for: dt.datetime) -> JobRequest:
    """Queue a "run now" for the scheduler process (the web worker never runs the job)."""
    if actor is not None and not actor.has_role(Role.DISTRICT_ADMIN):
        raise Forbidden()
    if table.get_job(job_id) is None:
        raise NotFound(_l("No such job."))
    request = JobRequest(job_id=job_id, scheduled_for=scheduled_for,
                         requested_by_id=actor.id if actor else None, requested_at=clock.now(),
                         status="pending")
    db.session.add(request)
    db.session.flush()
    audit.record(actor, "job.request", "job_request", request.id, job_id=job_id,
                 scheduled_for=scheduled_for.isoformat())
    return request


def pending_request_ids(limit: int) -> list[int]:
    return list(db.session.execute(
        select(JobRequest.id).where(JobRequest.status == "pending")
        .order_by(JobRequest.id).limit(limit)
    ).scalars())


def take_request(request_id: int) -> JobRequest | None:
    """Mark a pending request taken; None if someone else took it first."""
    result = db.session.execute(
        update(JobRequest).where(JobRequest.id == request_id, JobRequest.status == "pending")
        .values(status="taken", taken_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    return db.session.execute(
        select(JobRequest).where(JobRequest.id == request_id)
        .execution_options(populate_existing=True)
    ).scalar_one()


def settle_request(request_id: int, run_id: int | None, result: str) -> None:
    db.session.execute(
        update(JobRequest).where(JobRequest.id == request_id)
        .values(status="done", run_id=run_id, result=result[:32])
        .execution_options(synchronize_session=False)
    )


# --- the scheduler's heartbeat and runs it left behind -----------------------------------------

#: Key of the settings row the scheduler process touches every ``TIMEBANK_SCHEDULER_HEARTBEAT``
#: seconds (its ``updated_at`` is the beat); ``/readyz`` reads its age.
HEARTBEAT = "jobs.scheduler_heartbeat"
settings.declare(HEARTBEAT, None, "Last sign of life of the scheduler process (pid, host).",
                 kind=dict)


def beat(pid: int, host: str) -> None:
    """Record that the scheduler process is alive (flushes; the caller commits)."""
    settings.put(None, HEARTBEAT, {"pid": pid, "host": host[:100]})


def fail_orphaned_runs() -> list[tuple[str, dt.datetime]]:
    """Mark "running" runs of the schedule and of "run now" requests failed, and return their
    (job id, period).

    Called by the scheduler process right after it takes the instance lock: only the process
    holding the lock runs those origins, so such a row belongs to a scheduler that died mid-run
    (``kill -9``, a lost machine). Marked failed, the period may be claimed again at once instead
    of after ``table.STALE_RUN``. Runs started from the CLI (origin "cli") run without the lock
    and are left to the stale rule."""
    rows = db.session.execute(
        select(JobRun.id, JobRun.job_id, JobRun.scheduled_for)
        .where(JobRun.outcome == RunOutcome.RUNNING.value,
               JobRun.origin.in_(["schedule", "request"]))).all()
    if rows:
        db.session.execute(
            update(JobRun).where(JobRun.id.in_([r.id for r in rows]),
                                 JobRun.outcome == RunOutcome.RUNNING.value)
            .values(outcome=RunOutcome.FAILED.value, finished_at=clock.now(),
                    error="the scheduler process stopped during this run (found when the next "
                          "scheduler started); the period may run again")
            .execution_options(synchronize_session=False))
    return [(r.job_id, r.scheduled_for) for r in rows]
