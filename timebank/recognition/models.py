"""Award lists with their nominees and objections, and year-end ranking snapshots.

A frozen award list is a public record: its row, its nominees and its objections never change
again. Operations refuse, and database triggers (see migration 0005) reject UPDATE and DELETE
of a frozen list's rows on both databases.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.accounts.models import User
from timebank.core import clock
from timebank.core.db import UTCDateTime
from timebank.extensions import db
from timebank.members.models import Member
from timebank.orgs.models import OrgKind, OrgNode
from timebank.recognition import rules  # noqa: F401  (declares the settings)


@dataclasses.dataclass(frozen=True)
class AwardKind:
    code: str
    label: object
    #: Kinds of organisation node a list of this award may be drawn for.
    scopes: tuple[OrgKind, ...]
    default_top_n: int


AWARD_KINDS = {
    k.code: k for k in (
        AwardKind("outstanding_member", _l("Outstanding community party member"),
                  (OrgKind.COMMUNITY,), 3),
        AwardKind("civilised_citizen", _l("Civilised citizen"),
                  (OrgKind.COMMUNITY, OrgKind.STREET, OrgKind.DISTRICT), 10),
        AwardKind("outstanding_volunteer", _l("Outstanding volunteer"),
                  (OrgKind.COMMUNITY, OrgKind.STREET, OrgKind.DISTRICT, OrgKind.UNIT), 10),
    )
}


class ListStatus(enum.StrEnum):
    DRAFT = "draft"
    #: Published for the public notice (公示); objections may be filed until it ends.
    PUBLISHED = "published"
    FROZEN = "frozen"

    @property
    def label(self) -> str:
        return str(LIST_STATUS_LABELS[self])


LIST_STATUS_LABELS = {
    ListStatus.DRAFT: _l("Draft"),
    ListStatus.PUBLISHED: _l("In public notice"),
    ListStatus.FROZEN: _l("Final"),
}


class AwardList(db.Model):
    __tablename__ = "award_lists"
    __table_args__ = (
        UniqueConstraint("year", "kind", "scope_id"),
        CheckConstraint("status IN ('draft', 'published', 'frozen')", name="status_valid"),
        CheckConstraint("top_n > 0", name="top_n_positive"),
        CheckConstraint("status = 'draft' OR notice_ends_at IS NOT NULL", name="published_dated"),
        CheckConstraint("status <> 'frozen' OR figures_sha256 IS NOT NULL", name="frozen_hashed"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    #: Code from ``AWARD_KINDS``.
    kind: Mapped[str] = mapped_column(String(32))
    #: The community, street, district or unit whose ranking the list is drawn from.
    scope_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"), index=True)
    top_n: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=ListStatus.DRAFT.value)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    notice_ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    frozen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    frozen_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The final list as canonical JSON (sorted keys, no spaces), exactly what was hashed.
    figures_json: Mapped[str | None] = mapped_column(Text)
    figures_sha256: Mapped[str | None] = mapped_column(String(64))

    scope: Mapped[OrgNode] = relationship(lazy="joined")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    nominees: Mapped[list[AwardNominee]] = relationship(
        back_populates="award_list", order_by="AwardNominee.rank, AwardNominee.id",
        viewonly=True)

    @property
    def status_enum(self) -> ListStatus:
        return ListStatus(self.status)

    @property
    def kind_info(self) -> AwardKind:
        return AWARD_KINDS[self.kind]

    @property
    def title(self) -> str:
        return f"{self.year} {self.scope.name} {self.kind_info.label}"

    def notice_open(self, at: dt.datetime | None = None) -> bool:
        at = at or clock.now()
        return self.status == ListStatus.PUBLISHED and at < self.notice_ends_at

    # Permissions follow the tree: street admins organise lists for their street's
    # communities, district admins for everything.
    def can_organise(self, user) -> bool:
        return user.is_authenticated and user.administers(self.scope)

    def can_view(self, user) -> bool:
        if not user.is_authenticated:
            return False
        if self.can_organise(user):
            return True
        if self.status == ListStatus.DRAFT:
            return False
        # The notice is public to the scope: its staff and liaisons, and its members.
        if user.manages(self.scope) or (self.scope.kind == OrgKind.UNIT
                                        and user.has_role("unit_liaison", self.scope)):
            return True
        return self.in_scope(member_of(user))

    def in_scope(self, member: Member | None) -> bool:
        if member is None or not member.is_approved:
            return False
        if self.scope.kind == OrgKind.UNIT:
            return member.unit_id == self.scope_id
        return member.community.is_within(self.scope)


def member_of(user) -> Member | None:
    """The member record of a user, if they are one."""
    return db.session.query(Member).filter_by(user_id=user.id).one_or_none()


class NomineeStatus(enum.StrEnum):
    NOMINATED = "nominated"
    #: Taken off the list: by the organiser in the draft, or after an upheld objection.
    REMOVED = "removed"

    @property
    def label(self) -> str:
        return str(NOMINEE_STATUS_LABELS[self])


NOMINEE_STATUS_LABELS = {
    NomineeStatus.NOMINATED: _l("Nominated"),
    NomineeStatus.REMOVED: _l("Removed"),
}


class AwardNominee(db.Model):
    """A member drawn from the ranking, with the figures the ranking gave at drawing time."""

    __tablename__ = "award_nominees"
    __table_args__ = (
        UniqueConstraint("list_id", "member_id"),
        CheckConstraint("status IN ('nominated', 'removed')", name="status_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("award_lists.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    rank: Mapped[int]
    #: Names as they were when drawn: the published notice must not change with a rename.
    name: Mapped[str] = mapped_column(String(50))
    community_name: Mapped[str] = mapped_column(String(100))
    unit_name: Mapped[str | None] = mapped_column(String(100))
    service_minutes: Mapped[int] = mapped_column(BigInteger)
    sessions: Mapped[int]
    reached_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    star_level: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=NomineeStatus.NOMINATED.value)
    removed_reason: Mapped[str | None] = mapped_column(Text)

    award_list: Mapped[AwardList] = relationship(back_populates="nominees")
    member: Mapped[Member] = relationship()

    @property
    def status_enum(self) -> NomineeStatus:
        return NomineeStatus(self.status)


class ObjectionStatus(enum.StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    DISMISSED = "dismissed"

    @property
    def label(self) -> str:
        return str(OBJECTION_STATUS_LABELS[self])


OBJECTION_STATUS_LABELS = {
    ObjectionStatus.OPEN: _l("Awaiting an answer"),
    ObjectionStatus.UPHELD: _l("Upheld (nominee removed)"),
    ObjectionStatus.DISMISSED: _l("Dismissed"),
}


class AwardObjection(db.Model):
    """An objection (异议) to a nominee, filed during the notice period by a member in scope."""

    __tablename__ = "award_objections"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'upheld', 'dismissed')", name="status_valid"),
        Index("ix_award_objections_list_id_status", "list_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("award_lists.id"))
    nominee_id: Mapped[int] = mapped_column(ForeignKey("award_nominees.id"))
    filed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    filed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=ObjectionStatus.OPEN.value)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolution: Mapped[str | None] = mapped_column(Text)

    nominee: Mapped[AwardNominee] = relationship()
    filed_by: Mapped[User] = relationship(foreign_keys=[filed_by_id])

    @property
    def status_enum(self) -> ObjectionStatus:
        return ObjectionStatus(self.status)


class RankingSnapshot(db.Model):
    """The district ranking of a year as it stood at year end (taken once by the scheduler)."""

    __tablename__ = "ranking_snapshots"
    __table_args__ = (UniqueConstraint("year", "scope_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    scope_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    taken_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    #: The star thresholds in force when it was taken (levels below were computed with them).
    star_thresholds: Mapped[str] = mapped_column(String(200))
    entries_count: Mapped[int]
    #: sha256 over the canonical JSON of the entries, so a later edit is detectable.
    entries_sha256: Mapped[str] = mapped_column(String(64))

    scope: Mapped[OrgNode] = relationship()


class RankingSnapshotEntry(db.Model):
    __tablename__ = "ranking_snapshot_entries"
    __table_args__ = (UniqueConstraint("snapshot_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("ranking_snapshots.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    rank: Mapped[int]
    service_minutes: Mapped[int] = mapped_column(BigInteger)
    sessions: Mapped[int]
    reached_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    star_level: Mapped[int]



class ServiceYearTotal(db.Model):
    """A member's verified service in one calendar year (Asia/Shanghai), as the rankings read it.

    Kept by a database trigger on ``ledger_transactions`` (migration 0005): the ledger is
    append-only, so every insert that carries service minutes (a deposit, or the reversal of
    one) adds them to the member's row for the year of the transaction, in the same database
    transaction. The rankings then read about one row per active member instead of aggregating
    a year of ledger entries on every page view; ``queries.totals_from_ledger`` recomputes the
    same figures from the ledger itself, and ``timebank recognition verify-totals`` compares
    them.
    """

    __tablename__ = "recognition_service_totals"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    #: Verified service minutes: deposits minus reversals made in the year.
    minutes: Mapped[int] = mapped_column(BigInteger)
    #: Service records deposited in the year, net of reversed ones (sessions served).
    sessions: Mapped[int]
    #: The member's last ledger entry of the year that changed the total: after it the total
    #: did not change, so it is when they reached it (ledger ids follow the order of writing).
    last_transaction_id: Mapped[int] = mapped_column(BigInteger)


#: The ranking order itself, so a page of a ranking is read off the index, never sorted.
Index("ix_recognition_service_totals_ranking", ServiceYearTotal.year,
      ServiceYearTotal.minutes.desc(), ServiceYearTotal.sessions.desc(),
      ServiceYearTotal.last_transaction_id)
