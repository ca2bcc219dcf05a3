"""Recognition settings (district admins edit the star thresholds; the notice rules are
regional practice)."""
from __future__ import annotations

from timebank.core import settings

STAR_THRESHOLDS = "recognition.star_thresholds_hours"
NOTICE_DAYS = "recognition.notice_working_days"
NOTICE_HOLIDAYS = "recognition.notice_holidays"
NOTICE_WORKDAYS = "recognition.notice_extra_workdays"

settings.declare(STAR_THRESHOLDS, [100, 300, 600, 1000, 1500],
                 "Cumulative verified service hours for star levels 1, 2, ... (strictly "
                 "increasing); the civil-affairs practice is 100/300/600/1000/1500.", list)
settings.declare(NOTICE_DAYS, 5,
                 "Length of the public notice (公示) of an award list, in working days "
                 "(Monday to Friday, holidays below excluded).")
settings.declare(NOTICE_HOLIDAYS, [],
                 "Public holidays (ISO dates) that are not working days in the notice period.",
                 list)
settings.declare(NOTICE_WORKDAYS, [],
                 "Weekend days (ISO dates) that are working days (调休), for the notice period.",
                 list)


def star_thresholds() -> list[int]:
    return [int(h) for h in settings.get(STAR_THRESHOLDS)]


def star_level(service_minutes: int, thresholds_hours: list[int]) -> int:
    """0 (none) to len(thresholds): how many thresholds the cumulative hours have reached."""
    return sum(1 for h in thresholds_hours if service_minutes >= h * 60)


RANK_HISTORICAL = "recognition.rank_historical_hours"

settings.declare(RANK_HISTORICAL, False,
                 "Count historical hours brought over by the audited import (历史结转时长) in "
                 "rankings and star levels, beside verified service. Off: verified service only.",
                 bool)


def rank_historical() -> bool:
    return bool(settings.get(RANK_HISTORICAL))
