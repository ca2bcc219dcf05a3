"""What every spreadsheet the app writes has in common."""
from __future__ import annotations

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Spreadsheet programs run cells starting with these as formulas ("formula injection"); names,
#: titles and descriptions are typed by users, so such values are written as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """Text a spreadsheet would evaluate gets a leading quote; other values pass unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def hours_value(minutes: int | None) -> float:
    """Minutes as a number of hours for a spreadsheet cell (a number, so sums work in Excel),
    rounded as the pages show them (``timebank.core.web.hours``: one decimal, half up)."""
    from timebank.core.web import hours

    return float(hours(minutes or 0))
