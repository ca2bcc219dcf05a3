"""``timebank jobs list`` and ``timebank jobs run JOB_ID [--for TIME]``.

``jobs run`` runs the job in this process (the CLI is not a web worker), for the period that
contains ``--for`` (default: now), and records the run like the scheduler does, so a period that
already ran is not run again.
"""
from __future__ import annotations

import datetime as dt

import click
from flask.cli import with_appcontext

from timebank.core import clock
from timebank.jobs import runner, table


@click.group("jobs")
def group() -> None:
    """Scheduled jobs: list them, run one now."""


@group.command("list")
@with_appcontext
def list_jobs() -> None:
    """The job table with each job's next and last run."""
    from timebank.jobs import queries

    now = clock.now()
    last = queries.last_runs()
    for job in table.JOBS:
        nxt = table.next_fire_time(job, now)
        run = last.get(job.id)
        last_text = (f"{run.outcome} for {_local(run.scheduled_for)}" if run else "never")
        click.echo(f"{job.id:<28} {job.schedule_text():<28} next {_local(nxt)}  last {last_text}")
        click.echo(f"    {job.description} [{job.func}]")


def _local(value: dt.datetime | None) -> str:
    return clock.to_local(value).strftime("%Y-%m-%d %H:%M") if value else "-"


def _parse_time(value: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use an ISO date or time, e.g. 2026-01-01 or 2026-01-01T03:30")
    if parsed.tzinfo is None:  # wall-clock time in Asia/Shanghai, as users read schedules
        parsed = parsed.replace(tzinfo=clock.LOCAL_TZ)
    return parsed.astimezone(clock.UTC)


@group.command("run")
@click.argument("job_id")
@click.option("--for", "at", help="A time inside the period to run (ISO, Asia/Shanghai unless "
                                  "it has an offset); the period is the job's latest scheduled "
                                  "time at or before it. Default: now.")
@with_appcontext
def run(job_id: str, at: str | None) -> None:
    """Run one job now, in this process, for one period."""
    from timebank.core.cli import fail

    job = table.get_job(job_id)
    if job is None:
        fail(f"No job {job_id!r}; see `timebank jobs list`.")
    when = _parse_time(at) if at else clock.now()
    period = table.latest_fire_time(job, when)
    if period is None:
        fail(f"{job_id} has no scheduled time before {_local(when)}.")
    outcome = runner.execute(job, period, origin="cli")
    click.echo(f"{job.id} for {_local(period)}: {outcome.outcome}"
               + (f" - {outcome.summary}" if outcome.summary else ""))
    if outcome.outcome == "failed":
        raise SystemExit(1)
