"""The delivery log and each user's delivery preferences.

The inbox (``inbox.models.Message``) stays the record of every message; a :class:`Delivery` is
one attempt to carry one message (or one one-time code) over one channel to a person.
"""
from __future__ import annotations

import datetime as dt
import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.core import clock
from timebank.core.db import UTCDateTime
from timebank.extensions import db
from timebank.inbox.models import Message


class Channel(enum.StrEnum):
    EMAIL = "email"
    WECOM = "wecom"
    WEBHOOK = "webhook"
    SMS = "sms"

    @property
    def label(self) -> str:
        return str(CHANNEL_LABELS[self])


CHANNEL_LABELS = {
    Channel.EMAIL: _l("E-mail"),
    Channel.WECOM: _l("WeCom group robot"),
    Channel.WEBHOOK: _l("District message platform"),
    Channel.SMS: _l("Text message (SMS)"),
}


class Status(enum.StrEnum):
    QUEUED = "queued"
    #: Claimed by a run of the job that is sending it right now.
    SENDING = "sending"
    SENT = "sent"
    #: The last attempt failed; another one is due at ``next_attempt_at``.
    FAILED = "failed"
    #: No more attempts: the maximum was reached or the error cannot heal by retrying.
    GAVE_UP = "gave_up"

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self])


STATUS_LABELS = {
    Status.QUEUED: _l("Queued"),
    Status.SENDING: _l("Sending"),
    Status.SENT: _l("Sent"),
    Status.FAILED: _l("Failed, will retry"),
    Status.GAVE_UP: _l("Gave up"),
}

#: States the job picks up when ``next_attempt_at`` has come.
DUE = (Status.QUEUED.value, Status.FAILED.value)


class Delivery(db.Model):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("message_id", "channel"),
        CheckConstraint("status IN ('queued', 'sending', 'sent', 'failed', 'gave_up')",
                        name="status_valid"),
        CheckConstraint("channel IN ('email', 'wecom', 'webhook', 'sms')", name="channel_valid"),
        Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_deliveries_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The inbox message carried; None for a one-time code (``operations.send_code``).
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    #: Where it goes (e-mail address or mobile number), resolved when it was queued.
    address: Mapped[str | None] = mapped_column(String(254))
    #: For one-time codes: what the code is for ("resident_login" ...). The code is never kept.
    purpose: Mapped[str | None] = mapped_column(String(40))
    #: Urgent deliveries (one-time codes) ignore quiet hours.
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default=Status.QUEUED.value)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: When the current (or last) attempt was claimed.
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: The last failure, truncated; transports never put addresses' secrets or keys in it.
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    message: Mapped[Message | None] = relationship(lazy="joined")

    @property
    def status_label(self) -> str:
        return Status(self.status).label

    @property
    def channel_label(self) -> str:
        return Channel(self.channel).label


class DeliveryPreference(db.Model):
    """A user's choice of channels and quiet hours. No row: the configured default channels."""

    __tablename__ = "delivery_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    #: Comma-separated channel names, e.g. "email,sms"; "" for in-app only.
    channels: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    #: Quiet hours in Asia/Shanghai wall-clock time; the period may cross midnight (22:00-07:00).
    quiet_start: Mapped[dt.time | None] = mapped_column(Time)
    quiet_end: Mapped[dt.time | None] = mapped_column(Time)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)

    @property
    def channel_list(self) -> list[str]:
        return [c for c in self.channels.split(",") if c]
