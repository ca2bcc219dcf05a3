"""Small helpers shared by the ledger's pages, exports and messages."""
from __future__ import annotations

from decimal import Decimal


def format_hours(minutes: int | None) -> str:
    """Minutes as hours for people: the one hours formatter (``timebank.core.web.hours``, one
    decimal, no trailing zero: 90 -> "1.5", 145 -> "2.4", -30 -> "-0.5")."""
    from timebank.core.web import hours

    return hours(minutes or 0)


def hours_to_minutes(hours: Decimal) -> int | None:
    """Hours typed in a form as whole minutes, or None if they are not a whole minute."""
    minutes = hours * 60
    if minutes != minutes.to_integral_value():
        return None
    return int(minutes)


def mask_name(name: str) -> str:
    """A name shown to someone who only knows the phone number: 周晓东 -> 周*东, 李明 -> 李*."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
