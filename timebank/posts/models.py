"""Public-benefit posts (公益岗位): the posts staff publish (of a kind from :mod:`timebank.catalogue`),
their sessions, members' claims and waiting lists, and the service records that attendance (or a
member's own report) produces for staff to verify."""
from __future__ import annotations

import datetime as dt
import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (JSON, Boolean, CheckConstraint, Column, Float, ForeignKey, Index, String,
                        Table, Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.core import clock
from timebank.core.db import UTCDateTime
from timebank.extensions import db
from timebank.catalogue.models import PostCategory, PostKind  # noqa: F401  (relationships)
from timebank.orgs.models import OrgNode


# --- posts and sessions ------------------------------------------------------------------------


class PostStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return str(POST_STATUS_LABELS[self])


POST_STATUS_LABELS = {
    PostStatus.DRAFT: _l("Draft"),
    PostStatus.PUBLISHED: _l("Open for claims"),
    PostStatus.CLOSED: _l("Closed"),
    PostStatus.CANCELLED: _l("Cancelled"),
}

#: Required skills of a post (ids from the members' skill vocabulary).
post_skills = Table(
    "post_skills",
    db.metadata,
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("skill_id", ForeignKey("skills.id"), primary_key=True, index=True),
)


class Post(db.Model):
    __tablename__ = "posts"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published', 'closed', 'cancelled')",
                        name="status_valid"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
        Index("ix_posts_community_id_status", "community_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    kind_id: Mapped[int] = mapped_column(ForeignKey("post_kinds.id"), index=True)
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    place: Mapped[str] = mapped_column(String(200), default="")
    #: Places per session (each session keeps its own copy, see PostSession.capacity).
    capacity: Mapped[int]
    #: Minutes credited per session; None = each session's length.
    minutes_credit: Mapped[int | None]
    #: Claims (and withdrawals) close at this moment; sessions also close when they start.
    claim_deadline: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: Members of other streets may claim too (normally only the post's own street may).
    open_to_all: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default=PostStatus.DRAFT.value)
    #: How the sessions were described on the form, so a draft can be edited as it was entered.
    schedule: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    #: Where the sessions take place (WGS-84 degrees, both or neither): a scan check-in records
    #: the member's distance from it.
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)

    community: Mapped[OrgNode] = relationship()
    kind: Mapped[PostKind] = relationship(lazy="joined")
    sessions: Mapped[list[PostSession]] = relationship(
        back_populates="post", order_by="PostSession.starts_at", cascade="all, delete-orphan")

    @property
    def status_enum(self) -> PostStatus:
        return PostStatus(self.status)

    @property
    def is_open(self) -> bool:
        return self.status == PostStatus.PUBLISHED

    def deadline_passed(self, now: dt.datetime | None = None) -> bool:
        return self.claim_deadline is not None and (now or clock.now()) >= self.claim_deadline

    def can_manage(self, user) -> bool:
        """Staff whose scope covers the post's community."""
        return self.community.can_manage(user)


class PostSession(db.Model):
    """One occurrence of a post. ``claimed`` counts the active claims; it only changes in the
    same statement that checks it against ``capacity``, so it can never overbook."""

    __tablename__ = "post_sessions"
    __table_args__ = (
        CheckConstraint("claimed >= 0 AND claimed <= capacity", name="claimed_within_capacity"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("minutes_credit >= 0", name="minutes_credit_nonnegative"),
        Index("ix_post_sessions_post_id_starts_at", "post_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    capacity: Mapped[int]
    claimed: Mapped[int] = mapped_column(default=0)
    minutes_credit: Mapped[int]
    #: Set with ``claimed = 0`` in one statement when the session (or its post) is cancelled;
    #: the claim's conditional update tests it on the same row, so no claim slips in after.
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)

    post: Mapped[Post] = relationship(back_populates="sessions")

    @property
    def places_left(self) -> int:
        return max(self.capacity - self.claimed, 0)

    @property
    def length_minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)

    def has_started(self, now: dt.datetime | None = None) -> bool:
        return (now or clock.now()) >= self.starts_at

    def claims_open(self, now: dt.datetime | None = None) -> bool:
        now = now or clock.now()
        return (self.post.is_open and not self.cancelled and not self.has_started(now)
                and not self.post.deadline_passed(now))


# --- claims and waiting lists --------------------------------------------------------------------


class ClaimStatus(enum.StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return str(CLAIM_STATUS_LABELS[self])


CLAIM_STATUS_LABELS = {
    ClaimStatus.ACTIVE: _l("Claimed"),
    ClaimStatus.WITHDRAWN: _l("Withdrawn"),
    ClaimStatus.CANCELLED: _l("Cancelled by the community"),
}


class Attendance(enum.StrEnum):
    ATTENDED = "attended"
    NO_SHOW = "no_show"

    @property
    def label(self) -> str:
        return str(ATTENDANCE_LABELS[self])


ATTENDANCE_LABELS = {Attendance.ATTENDED: _l("Attended"), Attendance.NO_SHOW: _l("No-show")}


class Claim(db.Model):
    """A member's place in one session. Withdrawing keeps the row (history); claiming again
    reactivates it, so there is at most one row per (session, member)."""

    __tablename__ = "claims"
    __table_args__ = (
        UniqueConstraint("session_id", "member_id"),
        CheckConstraint("status IN ('active', 'withdrawn', 'cancelled')", name="status_valid"),
        CheckConstraint("attendance IS NULL OR attendance IN ('attended', 'no_show')",
                        name="attendance_valid"),
        Index("ix_claims_member_id_status", "member_id", "status"),
        Index("ix_claims_post_id_status", "post_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("post_sessions.id", ondelete="CASCADE"))
    #: Copy of the session's post, for per-post lists without a join.
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    status: Mapped[str] = mapped_column(String(16), default=ClaimStatus.ACTIVE.value)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: Came off the waiting list rather than claimed directly.
    promoted: Mapped[bool] = mapped_column(Boolean, default=False)
    checked_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    checked_out_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    attendance: Mapped[str | None] = mapped_column(String(16))
    #: Metres between the member's phone and the post's place at a scan check-in (when both
    #: were known).
    checkin_distance_m: Mapped[int | None]

    session: Mapped[PostSession] = relationship()
    member = relationship("Member")

    @property
    def status_enum(self) -> ClaimStatus:
        return ClaimStatus(self.status)

    @property
    def is_active(self) -> bool:
        return self.status == ClaimStatus.ACTIVE

    @property
    def attendance_enum(self) -> Attendance | None:
        return Attendance(self.attendance) if self.attendance else None


class WaitStatus(enum.StrEnum):
    WAITING = "waiting"
    PROMOTED = "promoted"
    LEFT = "left"
    EXPIRED = "expired"


class WaitlistEntry(db.Model):
    __tablename__ = "waitlist_entries"
    __table_args__ = (
        UniqueConstraint("session_id", "member_id"),
        CheckConstraint("status IN ('waiting', 'promoted', 'left', 'expired')",
                        name="status_valid"),
        Index("ix_waitlist_entries_session_id_status", "session_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("post_sessions.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=WaitStatus.WAITING.value)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    session: Mapped[PostSession] = relationship()
    member = relationship("Member")


# --- service records ---------------------------------------------------------------------------


class RecordStatus(enum.StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"
    #: Verified, then withdrawn: its deposit was reversed in the ledger.
    REVOKED = "revoked"

    @property
    def label(self) -> str:
        return str(RECORD_STATUS_LABELS[self])


RECORD_STATUS_LABELS = {
    RecordStatus.PENDING: _l("Awaiting verification"),
    RecordStatus.VERIFIED: _l("Verified"),
    RecordStatus.REJECTED: _l("Rejected"),
    RecordStatus.REVOKED: _l("Verification withdrawn"),
}


class RecordSource(enum.StrEnum):
    ATTENDANCE = "attendance"  # check-in/out or staff's attendance list
    REPORTED = "reported"  # the member reported service done off the platform


class Flag(enum.StrEnum):
    """Why a record needs a human look before its minutes are deposited."""

    OVERLAP = "overlap"
    LONG_DAY = "long_day"
    FAR_CHECKIN = "far_checkin"
    FAR_LOCATION = "far_location"

    @property
    def label(self) -> str:
        return str(FLAG_LABELS[self])


FLAG_LABELS = {
    Flag.OVERLAP: _l("Overlaps another record of the same member"),
    Flag.LONG_DAY: _l("More than 12 hours of service on one day"),
    Flag.FAR_CHECKIN: _l("Checked in far from the session's start"),
    Flag.FAR_LOCATION: _l("Checked in far from the post's place"),
}


class ServiceRecord(db.Model):
    __tablename__ = "service_records"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'verified', 'rejected', 'revoked')",
                        name="status_valid"),
        CheckConstraint("source IN ('attendance', 'reported')", name="source_valid"),
        CheckConstraint("minutes >= 0", name="minutes_nonnegative"),
        CheckConstraint("ended_at >= started_at", name="ends_after_start"),
        Index("ix_service_records_community_id_status", "community_id", "status"),
        Index("ix_service_records_member_id_started_at", "member_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    #: The community whose staff verify it (the post's, or the member's for a report).
    community_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    source: Mapped[str] = mapped_column(String(16))
    #: At most one record per claim: attendance is counted once.
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"), unique=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"), index=True)
    kind_id: Mapped[int | None] = mapped_column(ForeignKey("post_kinds.id"))
    description: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: Minutes to credit: the time served, capped by the session's credit.
    minutes: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=RecordStatus.PENDING.value)
    #: Flag codes (see :class:`Flag`); a flagged record is never verified in bulk.
    flags: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reject_reason: Mapped[str | None] = mapped_column(Text)
    #: The ledger transaction that deposited the minutes.
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoke_reason: Mapped[str | None] = mapped_column(Text)

    member = relationship("Member")
    community: Mapped[OrgNode] = relationship()
    post: Mapped[Post | None] = relationship()
    kind: Mapped[PostKind | None] = relationship()
    claim: Mapped[Claim | None] = relationship()

    @property
    def status_enum(self) -> RecordStatus:
        return RecordStatus(self.status)

    @property
    def flag_labels(self) -> list[str]:
        return [Flag(f).label for f in self.flags or ()]

    def can_review(self, user) -> bool:
        return self.community.can_manage(user)
