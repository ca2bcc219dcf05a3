"""When a member is free, in the words people write on the registration form: "周一上午、工作日晚上、
周六至周日全天" <-> {(0, "morning"), ...} (weekday 0 = Monday, the slots of ``models.SLOTS``)."""
from __future__ import annotations

import re
from collections.abc import Iterable

from timebank.members.models import SLOTS

_SPLIT = re.compile(r"[、,，;；/\s]+")


DAY_NAMES = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
SLOT_NAMES = {"morning": "上午", "afternoon": "下午", "evening": "晚上"}
_DAY_WORDS = {f"{p}{c}": i for p in ("周", "星期", "礼拜")
              for i, c in enumerate("一二三四五六日")} | {"周天": 6, "星期天": 6, "礼拜天": 6}
_DAY_GROUPS = {"工作日": range(0, 5), "周末": range(5, 7), "每天": range(7), "每日": range(7)}
_SLOT_WORDS = {"上午": ("morning",), "早上": ("morning",), "下午": ("afternoon",),
               "晚上": ("evening",), "夜间": ("evening",), "全天": SLOTS, "": SLOTS}


def parse_availability(text: str) -> set[tuple[int, str]]:
    """"周一上午、工作日晚上、周六至周日全天" -> {(0, "morning"), ...}; ValueError if unreadable."""
    cells: set[tuple[int, str]] = set()
    for token in _SPLIT.split(text.strip()):
        if not token:
            continue
        days, rest = _parse_days(token)
        if rest not in _SLOT_WORDS:
            raise ValueError(token)
        cells.update((d, s) for d in days for s in _SLOT_WORDS[rest])
    return cells


def _parse_days(token: str) -> tuple[range | list[int], str]:
    for word, days in _DAY_GROUPS.items():
        if token.startswith(word):
            return days, token[len(word):]
    m = re.match(r"^(周.|星期.|礼拜.)(?:[至到~\-－—](周.|星期.|礼拜.))?(.*)$", token)
    if not m or m.group(1) not in _DAY_WORDS:
        raise ValueError(token)
    first = _DAY_WORDS[m.group(1)]
    if m.group(2) is None:
        return [first], m.group(3)
    if m.group(2) not in _DAY_WORDS or _DAY_WORDS[m.group(2)] < first:
        raise ValueError(token)
    return range(first, _DAY_WORDS[m.group(2)] + 1), m.group(3)


def format_availability(cells: Iterable[tuple[int, str]]) -> str:
    by_day: dict[int, list[str]] = {}
    for day, slot in sorted(cells, key=lambda c: (c[0], SLOTS.index(c[1]))):
        by_day.setdefault(day, []).append(slot)
    parts = []
    for day, slots in by_day.items():
        if len(slots) == len(SLOTS):
            parts.append(f"{DAY_NAMES[day]}全天")
        else:
            parts.extend(f"{DAY_NAMES[day]}{SLOT_NAMES[s]}" for s in slots)
    return "、".join(parts)


def split_list(text: str) -> list[str]:
    return [t for t in _SPLIT.split(text.strip()) if t]
