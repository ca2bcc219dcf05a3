"""The job table: every scheduled job, with a stable id, its body's dotted path and its cron.

Bodies live in the feature packages' ``tasks.py`` and are named here by string, imported only when
the job runs (see :mod:`timebank.jobs.runner`). Features therefore depend on this module (a body
raises :class:`JobFailed`), never the other way round.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

from timebank.core import clock

HOUR = 3600
DAY = 24 * HOUR


@dataclasses.dataclass(frozen=True)
class Job:
    #: Stable id: recorded with every run, used by "run now" and ``timebank jobs run``.
    id: str
    #: "module:function", imported when the job runs, so a feature that is not installed yet
    #: gives a failed run, not a scheduler that cannot start.
    func: str
    #: Cron fields (APScheduler ``CronTrigger`` arguments), in Asia/Shanghai.
    cron: dict
    description: str
    #: How late a run may still start (after a busy scheduler or a restart) before the period
    #: is given up.
    misfire_grace_time: int = HOUR

    def trigger(self):
        from apscheduler.triggers.cron import CronTrigger

        return CronTrigger(timezone=clock.LOCAL_TZ, **self.cron)

    def schedule_text(self) -> str:
        fields = ("month", "day", "day_of_week", "hour", "minute", "second")
        return " ".join(f"{k}={self.cron[k]}" for k in fields if k in self.cron)

    def schedule_label(self) -> str:
        """The schedule as people say it (「每月1日 07:00」), for the pages; the CLI keeps the
        cron fields."""
        from flask_babel import gettext as _

        c = self.cron
        minute = str(c.get("minute", "0"))
        if "hour" not in c:
            if minute == "*":
                return _("Every minute")
            if minute.startswith("*/"):
                return _("Every %(n)s minutes", n=minute[2:])
            return _("Every hour at minute %(m)s", m=minute)
        at = f"{int(c['hour']):02d}:{int(minute):02d}"
        if "month" in c:
            return _("Every year on %(month)s/%(day)s at %(time)s", month=c["month"],
                     day=c.get("day", 1), time=at)
        if "day" in c:
            return _("Every month on day %(day)s at %(time)s", day=c["day"], time=at)
        return _("Every day at %(time)s", time=at)


#: Every scheduled job. Bodies live in the feature packages' ``tasks.py`` and take the period's
#: scheduled time (aware UTC) as their only argument; they return a one-line summary.
JOBS: list[Job] = [
    Job("posts.remind_tomorrow", "timebank.posts.tasks:send_reminders",
        {"hour": 18, "minute": 0},
        "Remind members of the sessions they claimed for tomorrow", 4 * HOUR),
    Job("posts.close_past_deadline", "timebank.posts.tasks:close_past_deadline",
        {"minute": "*/15"}, "Close posts whose claim deadline has passed", 15 * 60),
    Job("posts.mark_no_shows", "timebank.posts.tasks:mark_no_shows",
        {"minute": "5"}, "Mark no-shows for sessions that have ended", HOUR),
    Job("posts.promote_waiting", "timebank.posts.tasks:promote_waiting_lists",
        {"minute": "*/15"}, "Promote waiting lists into freed places", 15 * 60),
    Job("matching.nightly", "timebank.matching.tasks:nightly_match",
        {"hour": 2, "minute": 0}, "Nightly matcher run (proposals for staff)", 4 * HOUR),
    Job("ledger.verify", "timebank.ledger.tasks:verify_ledger",
        {"hour": 3, "minute": 30}, "Nightly ledger verification", 4 * HOUR),
    Job("ops.backup", "timebank.ops.tasks:nightly_backup",
        {"hour": 4, "minute": 0}, "Nightly database backup (keeps the newest N)", 4 * HOUR),
    Job("feedback.monthly_cards", "timebank.reports.tasks:monthly_feedback_cards",
        {"day": 1, "hour": 7, "minute": 0},
        "Monthly performance feedback cards to units (previous month)", 3 * DAY),
    Job("recognition.year_end", "timebank.recognition.tasks:year_end_snapshot",
        {"month": 1, "day": 1, "hour": 1, "minute": 0},
        "Year-end recognition snapshot (previous year's district ranking)", 7 * DAY),
    Job("notify.send_due", "timebank.notify.tasks:send_due",
        {"minute": "*"}, "Deliver inbox messages by e-mail, WeCom, webhook and SMS", 5 * 60),
]

#: A "running" row older than this belongs to a process that died; the period may be retried.
STALE_RUN = dt.timedelta(hours=3)


class JobSkipped(Exception):
    """Raised by a job body that has nothing to do for the period (recorded as "skipped")."""


class JobFailed(Exception):
    """Raised by a job body that did its work and found a failure to report (the nightly ledger
    check finding problems): the run is recorded as "failed" with this message, and what the
    job wrote (its alerts) is committed, not rolled back as after an unexpected error."""


def get_job(job_id: str) -> Job | None:
    return next((j for j in JOBS if j.id == job_id), None)


# --- periods -----------------------------------------------------------------------------------

def latest_fire_time(job: Job, at: dt.datetime) -> dt.datetime | None:
    """The last scheduled time of ``job`` at or before ``at`` (aware UTC): the current period."""
    trigger = job.trigger()
    for lookback in (dt.timedelta(hours=2), dt.timedelta(days=2), dt.timedelta(days=40),
                     dt.timedelta(days=400), dt.timedelta(days=800)):
        fire = trigger.get_next_fire_time(None, at - lookback)
        if fire is None or fire > at:
            continue
        for _ in range(10_000):
            following = trigger.get_next_fire_time(fire, fire)
            if following is None or following > at:
                break
            fire = following
        return fire.astimezone(clock.UTC)
    return None


def next_fire_time(job: Job, after: dt.datetime) -> dt.datetime | None:
    fire = job.trigger().get_next_fire_time(None, after)
    return fire.astimezone(clock.UTC) if fire is not None else None
