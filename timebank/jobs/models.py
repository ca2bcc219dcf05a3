"""Runs of scheduled jobs and "run now" requests."""
from __future__ import annotations

import datetime as dt
import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from timebank.core import clock
from timebank.core.db import UTCDateTime
from timebank.extensions import db


class RunOutcome(enum.StrEnum):
    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def label(self) -> str:
        return str(OUTCOME_LABELS[self])


OUTCOME_LABELS = {
    RunOutcome.RUNNING: _l("Running"),
    RunOutcome.OK: _l("Succeeded"),
    RunOutcome.FAILED: _l("Failed"),
    RunOutcome.SKIPPED: _l("Skipped"),
}


class JobRun(db.Model):
    """One run of a job for one period. ``(job_id, scheduled_for)`` is unique: whoever inserts
    the row first runs the period, every later attempt is a duplicate."""

    __tablename__ = "job_runs"
    __table_args__ = (
        UniqueConstraint("job_id", "scheduled_for"),
        CheckConstraint("outcome IN ('running', 'ok', 'failed', 'skipped')", name="outcome_valid"),
        CheckConstraint("origin IN ('schedule', 'request', 'cli')", name="origin_valid"),
        Index("ix_job_runs_started_at", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable id from ``jobs.table.JOBS``.
    job_id: Mapped[str] = mapped_column(String(64))
    #: The period served: the scheduled (cron) time, even when the run started later.
    scheduled_for: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(16), default=RunOutcome.RUNNING.value)
    summary: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    #: 1, or more when a failed period was run again.
    attempts: Mapped[int] = mapped_column(default=1)
    #: What started it: the schedule, a "run now" request from the admin page, or the CLI.
    origin: Mapped[str] = mapped_column(String(16), default="schedule")
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    @property
    def outcome_enum(self) -> RunOutcome:
        return RunOutcome(self.outcome)

    @property
    def duration(self) -> dt.timedelta | None:
        return self.finished_at - self.started_at if self.finished_at else None


class JobRequest(db.Model):
    """A "run now" from the admin page, waiting for the scheduler process to pick it up.

    Web workers never run jobs themselves: a long or failing job must not hold a request thread,
    and only the scheduler process holds the single-instance lock."""

    __tablename__ = "job_requests"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'taken', 'done')", name="status_valid"),
        Index("ix_job_requests_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(64))
    #: The period to run: the job's latest scheduled time when the request was made.
    scheduled_for: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    taken_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("job_runs.id"))
    #: ok / failed / skipped / duplicate, as the scheduler saw it.
    result: Mapped[str | None] = mapped_column(String(32))
