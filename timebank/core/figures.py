"""Where lower layers read a measure without importing ``timebank.measures`` (which sits above
them: it reads posts, ledger and members). ``timebank.measures`` registers every measure here as
it is defined; a ledger or members page asks ``figures.value(name, ...)``."""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Callable


@dataclasses.dataclass(frozen=True)
class Period:
    """Half-open [start, end) in UTC (None: open); ``year``/``month``/``days`` are Asia/Shanghai
    calendar bounds, so the months of a year add up to the year."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None

    @classmethod
    def year(cls, year: int) -> "Period":
        from timebank.core import clock
        return cls(*clock.local_year_bounds(year))

    @classmethod
    def month(cls, year: int, month: int) -> "Period":
        from timebank.core import clock
        first = dt.date(year, month, 1)
        following = (first + dt.timedelta(days=32)).replace(day=1)
        return cls(clock.local_datetime(first, dt.time()),
                   clock.local_datetime(following, dt.time()))

    @classmethod
    def days(cls, start: dt.date, end: dt.date) -> "Period":
        """Local dates [start, end)."""
        from timebank.core import clock
        return cls(clock.local_datetime(start, dt.time()), clock.local_datetime(end, dt.time()))


_PROVIDERS: dict[str, Callable[..., Any]] = {}


def provide(name: str, fn: Callable[..., Any]) -> None:
    _PROVIDERS[name] = fn


def value(name: str, *args, **kwargs) -> Any:
    """The measure ``name`` (timebank.measures) called with these arguments."""
    try:
        fn = _PROVIDERS[name]
    except KeyError:  # create_app() loads timebank.measures (its glossary blueprint)
        raise LookupError(f"measure {name!r} is not registered; is timebank.measures loaded?")
    return fn(*args, **kwargs)


def label(name: str) -> str:
    return value("__label__", name)
