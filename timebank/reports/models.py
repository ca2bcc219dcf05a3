"""Staff evaluation notes on members, and the monthly feedback cards sent to units."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.accounts.models import User
from timebank.core import clock
from timebank.core.db import UTCDateTime
from timebank.extensions import db
from timebank.members.models import Member
from timebank.orgs.models import OrgNode
from timebank.posts.models import ServiceRecord


class MemberEvaluation(db.Model):
    """A note by community staff on how a member took part in a month, for the member's unit."""

    __tablename__ = "member_evaluations"
    __table_args__ = (Index("ix_member_evaluations_member_id_month", "member_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    #: First day of the month the note is about (Asia/Shanghai calendar).
    month: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)

    member: Mapped[Member] = relationship()
    author: Mapped[User | None] = relationship()

    def can_delete(self, user) -> bool:
        return user.is_authenticated and (user.id == self.author_id
                                          or self.member.community.can_manage(user))


class FeedbackCard(db.Model):
    """A unit's performance feedback card for a period, as sent to its liaisons.

    The figures are stored as they were when the card was made (canonical JSON), so the card a
    unit received stays what it was; cards for other periods are computed on demand."""

    __tablename__ = "feedback_cards"
    __table_args__ = (UniqueConstraint("unit_id", "period_start", "period_end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"), index=True)
    #: First day of the period and the day after its last day (local dates).
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    #: "monthly" (the scheduled job) or "manual" (the command line).
    origin: Mapped[str] = mapped_column(String(16), default="monthly")
    figures_json: Mapped[str] = mapped_column(Text)

    unit: Mapped[OrgNode] = relationship()


#: Declared here, by the feature that reads it (migration 0007): the dashboards sum a year of a
#: street's verified service records by month, so they read one index range per community.
Index("ix_service_records_community_id_status_started_at", ServiceRecord.community_id,
      ServiceRecord.status, ServiceRecord.started_at)
