"""Navigation entries by role. Each feature registers its entries when its views are imported.

Entries are grouped into menus by their `order` band so that the longest navigation (the district
admin's) fits on one line at 1366 px. A band with a single visible entry is shown inline.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable

from flask import url_for
from flask_babel import lazy_gettext as _l


@dataclasses.dataclass(frozen=True)
class NavItem:
    label: object  # a lazy string
    endpoint: str
    visible: Callable[[object], bool]
    order: int = 50


@dataclasses.dataclass(frozen=True)
class NavGroup:
    label: str | None  # None: the entries are shown inline
    items: list[tuple[str, str]]


_ITEMS: list[NavItem] = []

# (first order, last order, menu label); orders outside every band stay inline.
_BANDS = [
    (30, 59, _l("Services")),
    (60, 79, _l("Figures")),
    (80, 89, _l("Administration")),
    (91, 99, _l("Administration")),
]


def register(label, endpoint: str, visible: Callable[[object], bool], order: int = 50) -> None:
    if not any(i.endpoint == endpoint for i in _ITEMS):
        _ITEMS.append(NavItem(label, endpoint, visible, order))


def _visible(user) -> list[NavItem]:
    if not user.is_authenticated:
        return []
    return [i for i in sorted(_ITEMS, key=lambda i: i.order) if i.visible(user)]


def nav_items(user) -> list[tuple[str, str]]:
    return [(str(i.label), url_for(i.endpoint)) for i in _visible(user)]


def _band(order: int) -> str | None:
    for lo, hi, label in _BANDS:
        if lo <= order <= hi:
            return str(label)
    return None


def nav_groups(user) -> list[NavGroup]:
    """The entries in display order; entries of one band become one menu, placed where the band's
    first entry would be."""
    items = _visible(user)
    counts: dict[str, int] = {}
    for i in items:
        band = _band(i.order)
        if band:
            counts[band] = counts.get(band, 0) + 1
    groups: list[NavGroup] = []
    by_label: dict[str, NavGroup] = {}
    for i in items:
        entry = (str(i.label), url_for(i.endpoint))
        band = _band(i.order)
        if band is None or counts[band] < 2:
            groups.append(NavGroup(None, [entry]))
        elif band in by_label:
            by_label[band].items.append(entry)
        else:
            by_label[band] = NavGroup(band, [entry])
            groups.append(by_label[band])
    return groups
