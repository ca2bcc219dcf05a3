"""Prometheus metrics (``/metrics``).

Two kinds of figures:

* counted in the process that serves the request: request latency by endpoint, claims and
  deposits (through ``core.signals``, counted when the transaction that wrote them commits, so a
  rolled-back claim is not counted). With several gunicorn workers set ``PROMETHEUS_MULTIPROC_DIR``
  to an empty folder shared by the workers (prometheus-client's multiprocess mode) so a scrape
  sees the sum of all workers;
* read from the database at scrape time: job runs and failures, the last ledger verification,
  the scheduler's heartbeat. The scheduler is another process (maybe on another machine), so
  these come from the rows it writes, and every worker answers the same.

``TIMEBANK_METRICS_TOKEN``, when set, must come as ``Authorization: Bearer <token>``.
"""
from __future__ import annotations

import hmac
import logging
import os
import time

from flask import Flask, Response, current_app, g, request
from prometheus_client import (CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter,
                               Histogram, generate_latest)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import event, func, select

from timebank.core import signals
from timebank.extensions import db

log = logging.getLogger(__name__)

REQUEST_SECONDS = Histogram(
    "timebank_http_request_duration_seconds", "Time to answer a request, by endpoint.",
    ["endpoint", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
REQUESTS = Counter("timebank_http_requests_total", "Requests answered, by endpoint and status.",
                   ["endpoint", "method", "status"])
CLAIMS = Counter("timebank_claims_total", "Claims of post sessions written (committed).",
                 ["how"])
DEPOSITS = Counter("timebank_deposits_total", "Time-bank deposits written (committed).")
DEPOSITED_MINUTES = Counter("timebank_deposited_minutes_total",
                            "Service minutes deposited into the time bank (committed).")

_PENDING = "ops_metrics_pending"


# --- counted where they happen ---------------------------------------------------------------

def _pend(session, metric, amount: float, labels: tuple = ()) -> None:
    session.info.setdefault(_PENDING, []).append((metric, labels, amount))


def _on_claimed(post, claims=(), promoted=False, **kw) -> None:
    _pend(db.session(), CLAIMS, len(claims), ("waitlist" if promoted else "member",))


def _on_deposited(sender, count=0, minutes=0, **kw) -> None:
    session = db.session()
    _pend(session, DEPOSITS, count)
    _pend(session, DEPOSITED_MINUTES, minutes)


def _after_commit(session) -> None:
    for metric, labels, amount in session.info.pop(_PENDING, ()):
        (metric.labels(*labels) if labels else metric).inc(amount)


def _after_rollback(session) -> None:
    session.info.pop(_PENDING, None)


_hooked = False


def _hook_signals() -> None:
    global _hooked
    if _hooked:
        return
    _hooked = True
    signals.post_claimed.connect(_on_claimed, weak=False)
    signals.hours_deposited.connect(_on_deposited, weak=False)
    from sqlalchemy.orm import Session

    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_rollback", _after_rollback)


# --- request latency -----------------------------------------------------------------------

def _start_timer() -> None:
    g.ops_started = time.perf_counter()


def _observe(response):
    started = g.pop("ops_started", None)
    if started is not None:
        endpoint = request.endpoint or "unmatched"
        REQUEST_SECONDS.labels(endpoint, request.method).observe(time.perf_counter() - started)
        REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
    return response


def init_app(app: Flask) -> None:
    _hook_signals()
    # First of all before_request functions: the clock starts before login checks touch the DB.
    app.before_request_funcs.setdefault(None, []).insert(0, _start_timer)
    app.after_request(_observe)


# --- read from the database at scrape time ---------------------------------------------------

class DatabaseCollector:
    """Job runs, the last ledger verification and the scheduler heartbeat, from the database."""

    def collect(self):
        from timebank.core import clock
        from timebank.jobs import queries as jobs
        from timebank.jobs.models import JobRun

        up = GaugeMetricFamily("timebank_database_up", "1 when the database answered the scrape.")
        try:
            rows = db.session.execute(
                select(JobRun.job_id, JobRun.outcome, func.count())
                .group_by(JobRun.job_id, JobRun.outcome)).all()
            verify = jobs.last_finished_run("ledger.verify")
            beat = jobs.heartbeat_at()
            last = jobs.last_runs()
            db.session.rollback()
        except Exception:
            log.warning("metrics: the database did not answer", exc_info=True)
            db.session.rollback()
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        runs = GaugeMetricFamily("timebank_job_runs", "Recorded periods of each job by outcome "
                                 "(failed: the job's failures).", labels=["job", "outcome"])
        for job_id, outcome, n in rows:
            runs.add_metric([job_id, outcome], n)
        yield runs
        last_ok = GaugeMetricFamily("timebank_job_last_run_ok", "1 when the latest period of the "
                                    "job succeeded (or was skipped), 0 otherwise.",
                                    labels=["job"])
        last_at = GaugeMetricFamily("timebank_job_last_run_timestamp_seconds",
                                    "Start of the latest run of the job.", labels=["job"])
        for job_id, run in sorted(last.items()):
            last_ok.add_metric([job_id], 1 if run.outcome in ("ok", "skipped") else 0)
            last_at.add_metric([job_id], run.started_at.timestamp())
        yield last_ok
        yield last_at
        ok = GaugeMetricFamily("timebank_ledger_last_verify_ok",
                               "1 when the last ledger verification passed, 0 when it failed "
                               "(absent before the first one).")
        at = GaugeMetricFamily("timebank_ledger_last_verify_timestamp_seconds",
                               "When the last ledger verification finished.")
        if verify is not None:
            ok.add_metric([], 1 if verify.outcome == "ok" else 0)
            at.add_metric([], verify.finished_at.timestamp())
        yield ok
        yield at
        age = GaugeMetricFamily("timebank_scheduler_heartbeat_age_seconds",
                                "Seconds since the scheduler process last showed it is alive.")
        if beat is not None:
            age.add_metric([], max(0.0, (clock.now() - beat).total_seconds()))
        yield age


def authorised() -> bool:
    token = current_app.config.get("TIMEBANK_METRICS_TOKEN") or ""
    if not token:
        return True
    scheme, _sep, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                              token.encode())


def exposition() -> Response:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        process = CollectorRegistry()
        multiprocess.MultiProcessCollector(process)
    else:
        process = REGISTRY
    from_db = CollectorRegistry(auto_describe=False)
    from_db.register(DatabaseCollector())
    body = generate_latest(process) + generate_latest(from_db)
    return Response(body, mimetype=CONTENT_TYPE_LATEST.split(";")[0],
                    headers={"Cache-Control": "no-store"})
