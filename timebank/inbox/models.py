"""In-app messages (reminders, approvals, feedback cards)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from timebank.core import clock
from timebank.core.db import UTCDateTime
from timebank.extensions import db


class Message(db.Model):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_recipient_id_read_at", "recipient_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    #: Local path the message points to (e.g. the post or the report), optional.
    link: Mapped[str | None] = mapped_column(String(255))
    #: Makes a message idempotent: a job that sends "reminder for claim 42" twice sends once.
    dedup_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    def can_view(self, user) -> bool:
        return user.is_authenticated and user.id == self.recipient_id
