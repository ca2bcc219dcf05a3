"""The job table and the one scheduler process (``timebank scheduler``).

Web workers never import this module's ``run_forever``: jobs run in exactly one process.
"""
from __future__ import annotations

import dataclasses
import logging
import signal
from collections.abc import Callable

from flask import current_app

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Job:
    #: Stable id: recorded with every run, used by "run now".
    id: str
    func: str  # "module:function", imported when the job runs
    trigger: dict
    description: str


#: Every scheduled job. Bodies live in the feature packages' ``tasks.py``.
JOBS: list[Job] = []


def _resolve(path: str) -> Callable:
    import importlib

    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def run_job(job: Job) -> None:
    app = current_app._get_current_object()
    with app.app_context():
        _resolve(job.func)()


def run_forever() -> None:
    from apscheduler.schedulers.blocking import BlockingScheduler

    app = current_app._get_current_object()
    tz = app.config["TIMEBANK_TIMEZONE"]
    sched = BlockingScheduler(timezone=tz, job_defaults={"coalesce": True,
                                                         "misfire_grace_time": 3600,
                                                         "max_instances": 1})

    def wrapped(job: Job):
        with app.app_context():
            try:
                _resolve(job.func)()
            except Exception:
                log.exception("job %s failed", job.id)

    for job in JOBS:
        sched.add_job(wrapped, args=[job], id=job.id, name=job.description, **job.trigger)
    signal.signal(signal.SIGTERM, lambda *a: sched.shutdown(wait=False))
    log.info("scheduler started with %d jobs (%s)", len(JOBS), tz)
    print(f"Scheduler running with {len(JOBS)} jobs in {tz}.", flush=True)
    try:
        sched.start()
    except (KeyboardInterrupt, SystemExit):
        pass
