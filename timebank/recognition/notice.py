"""The public-notice period (公示) in working days, in Asia/Shanghai."""
from __future__ import annotations

import datetime as dt

from timebank.core import clock


def is_working_day(day: dt.date, holidays: set[dt.date], extra_workdays: set[dt.date]) -> bool:
    if day in extra_workdays:
        return True
    return day.weekday() < 5 and day not in holidays


def notice_end(published_at: dt.datetime, working_days: int, holidays=(), extra_workdays=()
               ) -> dt.datetime:
    """When a notice published at ``published_at`` ends (aware UTC).

    The notice runs for ``working_days`` full working days counted from the day after
    publication, and ends at local midnight after the last of them: published on Friday with
    5 days, it ends when the next Friday is over.
    """
    holidays = {_date(d) for d in holidays}
    extra_workdays = {_date(d) for d in extra_workdays}
    day = clock.to_local(published_at).date()
    counted = 0
    while counted < working_days:
        day += dt.timedelta(days=1)
        if is_working_day(day, holidays, extra_workdays):
            counted += 1
    return clock.local_day_bounds(day)[1]


def _date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
