"""Settings stored in the database (regional rules, matcher weights, star thresholds).

Each setting is declared once with its default and a description; the stored row only exists
when someone changed it. Values are JSON so a setting can be a number, a list or a table.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column

from timebank.core import clock
from timebank.core.db import UTCDateTime
from timebank.extensions import db


@dataclasses.dataclass(frozen=True)
class SettingSpec:
    key: str
    default: Any
    description: str
    kind: type = int


REGISTRY: dict[str, SettingSpec] = {}


def declare(key: str, default: Any, description: str, kind: type = int) -> SettingSpec:
    spec = SettingSpec(key, default, description, kind)
    REGISTRY[key] = spec
    return spec


class Setting(db.Model):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


def get(key: str) -> Any:
    spec = REGISTRY[key]
    row = db.session.execute(select(Setting.value).where(Setting.key == key)).scalar_one_or_none()
    return spec.default if row is None else row


def updated_at(key: str) -> dt.datetime | None:
    """When the setting was last stored (None: never, it has its default)."""
    return db.session.execute(
        select(Setting.updated_at).where(Setting.key == key)).scalar_one_or_none()


def put(actor, key: str, value: Any) -> None:
    """Store a setting (flushes; the caller commits)."""
    if key not in REGISTRY:
        raise KeyError(key)
    row = db.session.get(Setting, key)
    if row is None:
        row = Setting(key=key)
        db.session.add(row)
    row.value = value
    row.updated_at = clock.now()
    row.updated_by_id = actor.id if actor is not None else None
    db.session.flush()
