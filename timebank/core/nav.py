"""Navigation entries by role. Each feature registers its entries when its views are imported."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable

from flask import url_for


@dataclasses.dataclass(frozen=True)
class NavItem:
    label: object  # a lazy string
    endpoint: str
    visible: Callable[[object], bool]
    order: int = 50


_ITEMS: list[NavItem] = []


def register(label, endpoint: str, visible: Callable[[object], bool], order: int = 50) -> None:
    if not any(i.endpoint == endpoint for i in _ITEMS):
        _ITEMS.append(NavItem(label, endpoint, visible, order))


def nav_items(user) -> list[tuple[str, str]]:
    if not user.is_authenticated:
        return []
    return [(str(i.label), url_for(i.endpoint)) for i in sorted(_ITEMS, key=lambda i: i.order)
            if i.visible(user)]
