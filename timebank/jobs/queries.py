"""Reads for the jobs admin page and the CLI."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, func, select

from timebank.extensions import db
from timebank.jobs.models import JobRequest, JobRun, RunOutcome


def run_exists(job_id: str, scheduled_for: dt.datetime) -> bool:
    return db.session.execute(
        select(exists().where(JobRun.job_id == job_id, JobRun.scheduled_for == scheduled_for))
    ).scalar_one()


def last_runs() -> dict[str, JobRun]:
    """The most recent run of each job, by period."""
    latest = (select(JobRun.job_id, func.max(JobRun.scheduled_for).label("at"))
              .group_by(JobRun.job_id).subquery())
    rows = db.session.execute(
        select(JobRun).join(latest, (JobRun.job_id == latest.c.job_id)
                            & (JobRun.scheduled_for == latest.c.at))
    ).scalars()
    return {r.job_id: r for r in rows}


def recent_runs(job_id: str | None = None):
    stmt = select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc())
    if job_id is not None:
        stmt = stmt.where(JobRun.job_id == job_id)
    return stmt


def recent_failures(limit: int = 20) -> list[JobRun]:
    return list(db.session.execute(
        select(JobRun).where(JobRun.outcome == RunOutcome.FAILED.value)
        .order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)
    ).scalars())


def open_requests() -> list[JobRequest]:
    return list(db.session.execute(
        select(JobRequest).where(JobRequest.status != "done").order_by(JobRequest.id)
    ).scalars())


def recent_requests(limit: int = 10) -> list[JobRequest]:
    return list(db.session.execute(
        select(JobRequest).order_by(JobRequest.id.desc()).limit(limit)
    ).scalars())


def heartbeat_at() -> dt.datetime | None:
    """When the scheduler process last recorded that it is alive (None: never)."""
    from timebank.core import settings
    from timebank.jobs.operations import HEARTBEAT

    return settings.updated_at(HEARTBEAT)


def last_finished_run(job_id: str) -> JobRun | None:
    """The most recently finished run of ``job_id`` (any outcome but "running")."""
    return db.session.execute(
        select(JobRun).where(JobRun.job_id == job_id, JobRun.outcome != RunOutcome.RUNNING.value,
                             JobRun.finished_at.is_not(None))
        .order_by(JobRun.finished_at.desc(), JobRun.id.desc()).limit(1)).scalar_one_or_none()
