"""The one source of time. Tests freeze it with :func:`freeze`; code never calls datetime.now()."""
from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
UTC = dt.timezone.utc

_frozen: dt.datetime | None = None


def now() -> dt.datetime:
    """Current time, aware, in UTC."""
    return _frozen if _frozen is not None else dt.datetime.now(UTC)


def local_now() -> dt.datetime:
    return now().astimezone(LOCAL_TZ)


def today() -> dt.date:
    """Today's date in Asia/Shanghai (the date users see)."""
    return local_now().date()


def to_local(value: dt.datetime) -> dt.datetime:
    return value.astimezone(LOCAL_TZ)


def local_datetime(day: dt.date, time: dt.time) -> dt.datetime:
    """A wall-clock date and time in Asia/Shanghai as an aware UTC datetime."""
    return dt.datetime.combine(day, time, tzinfo=LOCAL_TZ).astimezone(UTC)


def local_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a local calendar day, in UTC."""
    start = local_datetime(day, dt.time())
    return start, local_datetime(day + dt.timedelta(days=1), dt.time())


def local_year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a calendar year in Asia/Shanghai, in UTC."""
    return local_datetime(dt.date(year, 1, 1), dt.time()), local_datetime(
        dt.date(year + 1, 1, 1), dt.time()
    )


def local_month_bounds(value: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) in UTC of the Asia/Shanghai calendar month that the instant ``value`` is in."""
    first = to_local(value).date().replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return local_datetime(first, dt.time()), local_datetime(following, dt.time())


def freeze_at(value: dt.datetime | None) -> None:
    global _frozen
    if value is not None and value.tzinfo is None:
        raise ValueError("freeze_at needs an aware datetime")
    _frozen = value.astimezone(UTC) if value is not None else None


@contextlib.contextmanager
def freeze(value: dt.datetime) -> Iterator[None]:
    previous = _frozen
    freeze_at(value)
    try:
        yield
    finally:
        freeze_at(previous)
