"""The one scheduler process (``timebank scheduler``).

Web workers never run jobs: ``create_app`` does not import :func:`run_forever`, and the admin
page's "run now" only queues a request that the scheduler process picks up.

Every run is keyed by ``(job id, scheduled_for)``, the scheduled time of the period it serves
(a cron fire time in Asia/Shanghai). A run first inserts its ``job_runs`` row; the unique key makes
a second attempt for the same period (another scheduler, "run now", the CLI) a no-op. Job bodies
are idempotent as well, so even a retry of a failed period changes nothing that already happened.

Only one scheduler process runs jobs at a time. It holds, for its whole life, a PostgreSQL
session-level advisory lock on a dedicated connection, or on SQLite an ``flock`` on
``instance/scheduler.lock``; both are released by the operating system or the server when the
process dies, and a waiting second instance then takes over.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import importlib
import inspect
import logging
import os
import signal
import socket
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from flask import current_app

from timebank.core import clock
from timebank.jobs import table
from timebank.jobs.table import Job, JobFailed, JobSkipped, get_job, latest_fire_time

log = logging.getLogger(__name__)

# --- running one period --------------------------------------------------------------------------

def _resolve(path: str) -> Callable:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def _call(func: Callable, scheduled_for: dt.datetime):
    try:
        params = [p for p in inspect.signature(func).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = [None]
    # Bodies that need no period (e.g. verify the whole ledger) may take no argument.
    return func(scheduled_for) if params else func()


@dataclasses.dataclass
class Outcome:
    job_id: str
    scheduled_for: dt.datetime
    #: "ok", "failed", "skipped", or "duplicate" (the period was already run or is running).
    outcome: str
    summary: str = ""
    run_id: int | None = None


def execute(job: Job, scheduled_for: dt.datetime, origin: str = "schedule",
            requested_by_id: int | None = None) -> Outcome:
    """Run ``job`` for the period ``scheduled_for`` unless that period already ran.

    Commits (this is a job boundary, like a request): first the claimed run row, then the body's
    work together with the outcome, so a crash never loses the record that the period started.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from timebank.extensions import db
    from timebank.jobs import operations

    run_id = operations.claim_run(job.id, scheduled_for, origin, requested_by_id,
                                  stale_before=clock.now() - table.STALE_RUN)
    if run_id is None:
        db.session.commit()
        existing = operations.find_run(job.id, scheduled_for)
        return Outcome(job.id, scheduled_for, "duplicate",
                       f"already {existing.outcome if existing else 'claimed'}",
                       existing.id if existing else None)
    db.session.commit()
    log.info("job %s for %s started (run %s)", job.id, scheduled_for.isoformat(), run_id)
    try:
        func = _resolve(job.func)
    except (ImportError, AttributeError) as e:
        db.session.rollback()
        error = f"{job.func} is not available: {e}"
        operations.finish_run(run_id, "failed", error=error)
        db.session.commit()
        log.error("job %s failed: %s", job.id, error)
        return Outcome(job.id, scheduled_for, "failed", error, run_id)
    try:
        result = _call(func, scheduled_for)
        operations.finish_run(run_id, "ok", summary=_summary(result))
        db.session.commit()
        outcome = Outcome(job.id, scheduled_for, "ok", _summary(result), run_id)
    except JobSkipped as e:
        db.session.rollback()
        operations.finish_run(run_id, "skipped", summary=str(e))
        db.session.commit()
        outcome = Outcome(job.id, scheduled_for, "skipped", str(e), run_id)
    except JobFailed as e:
        operations.finish_run(run_id, "failed", error=str(e))
        db.session.commit()
        outcome = Outcome(job.id, scheduled_for, "failed", str(e), run_id)
    except Exception as e:
        log.exception("job %s for %s failed", job.id, scheduled_for.isoformat())
        db.session.rollback()
        try:
            operations.finish_run(run_id, "failed", error=f"{type(e).__name__}: {e}")
            db.session.commit()
        except SQLAlchemyError:
            db.session.rollback()
            log.exception("could not record the failure of run %s", run_id)
        outcome = Outcome(job.id, scheduled_for, "failed", f"{type(e).__name__}: {e}", run_id)
    log.info("job %s for %s: %s %s", job.id, scheduled_for.isoformat(), outcome.outcome,
             outcome.summary)
    return outcome


def _summary(result) -> str:
    if result is None:
        return ""
    return str(result)[:2000]


def run_requests(limit: int = 20) -> list[Outcome]:
    """Run the "run now" requests queued by the admin page (called by the scheduler process)."""
    from timebank.extensions import db
    from timebank.jobs import operations

    outcomes = []
    for request_id in operations.pending_request_ids(limit):
        request = operations.take_request(request_id)
        db.session.commit()
        if request is None:
            continue
        job = get_job(request.job_id)
        if job is None:
            operations.settle_request(request.id, None, "unknown job")
            db.session.commit()
            continue
        outcome = execute(job, request.scheduled_for, origin="request",
                          requested_by_id=request.requested_by_id)
        operations.settle_request(request.id, outcome.run_id, outcome.outcome)
        db.session.commit()
        outcomes.append(outcome)
    return outcomes


# --- the single-instance lock ----------------------------------------------------------------

#: Key of the PostgreSQL advisory lock (a fixed 32-bit number derived from a name).
ADVISORY_KEY = zlib.crc32(b"timebank.scheduler")


class InstanceLock:
    """Held by the one scheduler process that runs jobs; released when the process dies."""

    def __init__(self, app) -> None:
        from timebank.extensions import db

        self.app = app
        self.kind = "postgresql" if db.engine.dialect.name == "postgresql" else "file"
        self._conn = None
        self._fh = None

    def try_acquire(self) -> bool:
        from sqlalchemy import text

        from timebank.extensions import db

        if self.kind == "postgresql":
            if self._conn is None:
                # A connection of its own, outside the pool's reuse, for the process lifetime:
                # the session-level lock lives exactly as long as this connection.
                self._conn = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            got = self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                     {"k": ADVISORY_KEY}).scalar()
            return bool(got)
        if self._fh is None:
            path = Path(self.app.instance_path) / "scheduler.lock"
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(path, "a+")  # noqa: SIM115 (kept open: the lock lives with it)
        try:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self._fh.seek(0)
        self._fh.truncate()
        self._fh.write(f"{os.getpid()}\n")
        self._fh.flush()
        return True

    def alive(self) -> bool:
        """Whether the lock is still ours (a PostgreSQL connection can drop under us)."""
        if self.kind != "postgresql":
            return True
        from sqlalchemy import text

        try:
            return bool(self._conn.execute(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                     "AND objid = :k AND pid = pg_backend_pid() AND granted"),
                {"k": ADVISORY_KEY}).scalar())
        except Exception:
            log.exception("scheduler lock connection lost")
            return False

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # the connection may already be gone; the lock with it
                log.debug("closing the lock connection failed", exc_info=True)
            self._conn = None
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _beat() -> None:
    """The scheduler's heartbeat (read by ``/readyz``)."""
    from timebank.extensions import db
    from timebank.jobs import operations

    operations.beat(os.getpid(), socket.gethostname())
    db.session.commit()


def _wait_for_lock(lock: InstanceLock, retry_seconds: float, stop: list[bool]) -> bool:
    announced = False
    while not stop:
        if lock.try_acquire():
            return True
        if not announced:
            print("Another scheduler holds the lock; waiting to take over.", flush=True)
            announced = True
        time.sleep(retry_seconds)
    return False


def run_forever(lock_retry_seconds: float | None = None, poll_seconds: float | None = None) -> int:
    """Wait for the instance lock, then run the job table until stopped (SIGTERM or Ctrl-C).

    Exits with status 3 if the lock is lost (a dropped PostgreSQL connection), so a supervisor
    restarts the process, which then waits for the lock like any second instance.
    """
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.blocking import BlockingScheduler

    from timebank.extensions import db

    app = current_app._get_current_object()
    lock_retry = lock_retry_seconds or float(
        app.config.get("TIMEBANK_SCHEDULER_LOCK_RETRY")
        or os.environ.get("TIMEBANK_SCHEDULER_LOCK_RETRY", "10"))
    poll = poll_seconds or float(app.config.get("TIMEBANK_SCHEDULER_POLL")
                                 or os.environ.get("TIMEBANK_SCHEDULER_POLL", "5"))

    stop: list[bool] = []
    sched: BlockingScheduler | None = None
    exit_code = [0]

    def on_signal(signum, frame):
        stop.append(True)
        if sched is not None and sched.running:
            sched.shutdown(wait=False)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    lock = InstanceLock(app)
    if not _wait_for_lock(lock, lock_retry, stop):
        return 0
    print(f"Scheduler lock acquired (pid {os.getpid()}, {lock.kind}).", flush=True)

    def in_app(func: Callable, *args):
        with app.app_context():
            try:
                func(*args)
            except Exception:
                log.exception("scheduler task %s failed", getattr(func, "__name__", func))

    def scheduled(job_id: str, period: dt.datetime | None = None):
        job = get_job(job_id)
        # APScheduler does not pass the fire time; with coalescing it is the latest one due.
        execute(job, period or latest_fire_time(job, clock.now()))

    def check_lock():
        if not lock.alive():
            print("Scheduler lock lost; stopping.", flush=True)
            exit_code[0] = 3
            sched.shutdown(wait=False)

    sched = BlockingScheduler(timezone=clock.LOCAL_TZ,
                              executors={"default": ThreadPoolExecutor(4)},
                              job_defaults={"coalesce": True, "max_instances": 1})
    heartbeat = float(app.config.get("TIMEBANK_SCHEDULER_HEARTBEAT")
                      or os.environ.get("TIMEBANK_SCHEDULER_HEARTBEAT", "30"))
    now = clock.now()
    with app.app_context():
        from timebank.jobs import operations, queries

        # Runs a scheduler that died (kill -9) left "running": failed now, and run again below
        # when their period is still within its grace time.
        orphaned = set(operations.fail_orphaned_runs())
        operations.beat(os.getpid(), socket.gethostname())
        db.session.commit()
        for job_id, period in sorted(orphaned):
            log.warning("run of %s for %s was left running by a stopped scheduler; marked failed",
                        job_id, period.isoformat())
        for job in table.JOBS:
            sched.add_job(in_app, job.trigger(), args=[scheduled, job.id], id=job.id,
                          name=job.description, misfire_grace_time=job.misfire_grace_time)
            # The in-memory job store forgets missed runs across restarts (or a takeover after
            # the previous scheduler died): catch up on the current period if still in grace.
            period = latest_fire_time(job, now)
            if (period is not None and (now - period).total_seconds() <= job.misfire_grace_time
                    and ((job.id, period) in orphaned
                         or not queries.run_exists(job.id, period))):
                sched.add_job(in_app, "date", run_date=now, args=[scheduled, job.id, period],
                              id=f"catch-up:{job.id}", misfire_grace_time=job.misfire_grace_time)
    sched.add_job(in_app, "interval", seconds=poll, args=[run_requests], id="_requests",
                  misfire_grace_time=None)
    sched.add_job(in_app, "interval", seconds=heartbeat, args=[_beat], id="_heartbeat",
                  misfire_grace_time=None)
    sched.add_job(check_lock, "interval", seconds=max(poll, 5), id="_lock",
                  misfire_grace_time=None)
    log.info("scheduler started with %d jobs (Asia/Shanghai)", len(table.JOBS))
    print(f"Scheduler running with {len(table.JOBS)} jobs in {clock.LOCAL_TZ.key}.", flush=True)
    try:
        if not stop:
            sched.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        lock.release()
    if exit_code[0]:
        raise SystemExit(exit_code[0])
    return 0
