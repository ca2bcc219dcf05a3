"""Turning what staff type on the post form into session times. Pure: no Flask, no database.

Two ways to describe sessions:

* one-off dates, one per line, each optionally with its own times::

      2026-12-05
      2026-12-12 14:00-16:30

* a weekly recurrence: a date range and the weekdays (0 = Monday) it repeats on.

Times are wall-clock times in the district's zone; :func:`expand` returns local naive
``(start, end)`` pairs, and the caller turns them into UTC with ``clock.local_datetime``.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re

#: A post with more sessions than this is almost certainly a typo in the date range.
MAX_SESSIONS = 200

_LINE = re.compile(
    r"^\s*(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
    r"(?:\s+(\d{1,2})[:：](\d{2})\s*[-~～至到]\s*(\d{1,2})[:：](\d{2}))?\s*$"
)


def N_(message: str) -> str:
    """Marks a message for the translation catalogue; the caller translates it."""
    return message


class ScheduleError(ValueError):
    """A problem with what was typed; ``field`` names the form field, ``args[0]`` says what."""

    def __init__(self, message: str, field: str, **params) -> None:
        super().__init__(message)
        self.field = field
        self.params = params


@dataclasses.dataclass(frozen=True)
class Schedule:
    mode: str  # "dates" or "weekly"
    start_time: dt.time
    end_time: dt.time
    dates_text: str = ""
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    weekdays: tuple[int, ...] = ()

    def as_dict(self) -> dict:
        return {
            "mode": self.mode,
            "start_time": self.start_time.strftime("%H:%M"),
            "end_time": self.end_time.strftime("%H:%M"),
            "dates_text": self.dates_text,
            "first_day": self.first_day.isoformat() if self.first_day else None,
            "last_day": self.last_day.isoformat() if self.last_day else None,
            "weekdays": list(self.weekdays),
        }


def _parse_time(h: str, m: str, field: str) -> dt.time:
    try:
        return dt.time(int(h), int(m))
    except ValueError:
        raise ScheduleError(N_("Not a valid time of day."), field) from None


def parse_dates(text: str, start_time: dt.time, end_time: dt.time
                ) -> list[tuple[dt.datetime, dt.datetime]]:
    out = []
    for n, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        m = _LINE.match(line)
        if not m:
            raise ScheduleError(N_("Line %(n)d is not a date like 2026-12-05 (optionally followed "
                                "by times like 09:00-11:00)."), "dates", n=n)
        try:
            day = dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            raise ScheduleError(N_("Line %(n)d is not a valid date."), "dates", n=n) from None
        start, end = start_time, end_time
        if m[4]:
            start = _parse_time(m[4], m[5], "dates")
            end = _parse_time(m[6], m[7], "dates")
        if end <= start:
            raise ScheduleError(N_("Line %(n)d: the session must end after it starts."), "dates",
                                n=n)
        out.append((dt.datetime.combine(day, start), dt.datetime.combine(day, end)))
    return out


def expand(schedule: Schedule) -> list[tuple[dt.datetime, dt.datetime]]:
    """Local (start, end) pairs, sorted, without duplicates."""
    if schedule.end_time <= schedule.start_time:
        raise ScheduleError(N_("A session must end after it starts."), "end_time")
    if schedule.mode == "dates":
        pairs = parse_dates(schedule.dates_text, schedule.start_time, schedule.end_time)
        if not pairs:
            raise ScheduleError(N_("Enter at least one date."), "dates")
    elif schedule.mode == "weekly":
        if schedule.first_day is None or schedule.last_day is None:
            raise ScheduleError(N_("Enter the first and last day of the recurrence."), "first_day")
        if schedule.last_day < schedule.first_day:
            raise ScheduleError(N_("The last day is before the first day."), "last_day")
        if not schedule.weekdays:
            raise ScheduleError(N_("Choose at least one weekday."), "weekdays")
        if (schedule.last_day - schedule.first_day).days > 366:
            raise ScheduleError(N_("A recurrence may span at most one year."), "last_day")
        pairs = []
        day = schedule.first_day
        while day <= schedule.last_day:
            if day.weekday() in schedule.weekdays:
                pairs.append((dt.datetime.combine(day, schedule.start_time),
                              dt.datetime.combine(day, schedule.end_time)))
            day += dt.timedelta(days=1)
        if not pairs:
            raise ScheduleError(N_("No chosen weekday falls in this date range."), "weekdays")
    else:
        raise ScheduleError(N_("Choose how the sessions are given."), "mode")
    pairs = sorted(set(pairs))
    if len(pairs) > MAX_SESSIONS:
        raise ScheduleError(N_("At most %(n)d sessions per post."), "dates", n=MAX_SESSIONS)
    return pairs
