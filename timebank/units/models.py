"""Work units in the loop (issue 14): the unit's party roster (花名册, the census of all its
in-service members, registered or not) and co-building agreements (共建协议) with a community or
street, their commitments and what has been done against each."""
from __future__ import annotations

import datetime as dt
import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.accounts.models import User
from timebank.core import clock
from timebank.core.db import UTCDateTime
from timebank.extensions import db
from timebank.members.models import Member
from timebank.orgs.models import OrgNode


class Management(enum.StrEnum):
    DIRECT = "direct"  # 直管: the unit's party organisation holds the member's relationship
    CO = "co"  # 协管: the relationship is elsewhere; the unit co-manages

    @property
    def label(self) -> str:
        return str(MANAGEMENT_LABELS[self])


MANAGEMENT_LABELS = {Management.DIRECT: _l("Directly managed"), Management.CO: _l("Co-managed")}


class RosterEntry(db.Model):
    """One person on a unit's roster. Linked to the member record once the person has one
    (matched by ID number hash or phone at import, or when they register later)."""

    __tablename__ = "unit_roster_entries"
    __table_args__ = (
        # Re-importing a file finds the same person again by one of these keys.
        UniqueConstraint("unit_id", "id_number_hmac"),
        UniqueConstraint("unit_id", "phone"),
        UniqueConstraint("unit_id", "member_id"),
        CheckConstraint("id_number_hmac IS NOT NULL OR phone IS NOT NULL", name="has_key"),
        CheckConstraint("management IN ('direct', 'co')", name="management_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    name: Mapped[str] = mapped_column(String(50))
    #: Keyed HMAC of the ID number (same key and context as members), None if only a phone.
    id_number_hmac: Mapped[str | None] = mapped_column(String(64), index=True)
    #: The ID number, AES-GCM encrypted with the members' context; never shown in full.
    id_number_ciphertext: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    management: Mapped[str] = mapped_column(String(16), default=Management.DIRECT.value)
    #: Community of residence when the file says it (helps staff find the unregistered).
    community_id: Mapped[int | None] = mapped_column(ForeignKey("org_nodes.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"),
                                                  index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    unit: Mapped[OrgNode] = relationship(foreign_keys=[unit_id])
    community: Mapped[OrgNode | None] = relationship(foreign_keys=[community_id])
    member: Mapped[Member | None] = relationship(foreign_keys=[member_id])

    @property
    def management_label(self) -> str:
        return Management(self.management).label

    @property
    def masked_id_number(self) -> str:
        from timebank.core import crypto
        from timebank.members.models import ID_NUMBER_CONTEXT, mask_id_number

        if not self.id_number_ciphertext:
            return ""
        return mask_id_number(crypto.decrypt(self.id_number_ciphertext, ID_NUMBER_CONTEXT))

    @property
    def masked_phone(self) -> str:
        from timebank.core.validators import mask_phone

        return mask_phone(self.phone) if self.phone else ""


class AgreementStatus(enum.StrEnum):
    DRAFT = "draft"  # being written; signed by at most one side
    ACTIVE = "active"  # signed by both sides
    CLOSED = "closed"  # reviewed at year end

    @property
    def label(self) -> str:
        return str(AGREEMENT_STATUS_LABELS[self])


AGREEMENT_STATUS_LABELS = {
    AgreementStatus.DRAFT: _l("Awaiting signatures"),
    AgreementStatus.ACTIVE: _l("In force"),
    AgreementStatus.CLOSED: _l("Reviewed and closed"),
}


class CommitmentKind(enum.StrEnum):
    HOURS = "hours"  # amounts in minutes, shown as hours
    PROJECT = "project"  # number of projects
    VENUE = "venue"  # number of venues opened / times opened
    FUNDS = "funds"  # yuan
    CONTACT = "contact"  # number of named contacts

    @property
    def label(self) -> str:
        return str(COMMITMENT_LABELS[self])


COMMITMENT_LABELS = {
    CommitmentKind.HOURS: _l("Service hours"),
    CommitmentKind.PROJECT: _l("Projects"),
    CommitmentKind.VENUE: _l("Venue opened"),
    CommitmentKind.FUNDS: _l("Funds"),
    CommitmentKind.CONTACT: _l("Named contacts"),
}


class Agreement(db.Model):
    """A co-building agreement between a unit and a community or street for a period."""

    __tablename__ = "unit_agreements"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'active', 'closed')", name="status_valid"),
        CheckConstraint("ends_on >= starts_on", name="period_valid"),
        CheckConstraint("status = 'draft' OR (unit_signed_at IS NOT NULL AND "
                        "org_signed_at IS NOT NULL)", name="signed_when_active"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"), index=True)
    #: The other party: a community or a street.
    org_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"), index=True)
    title: Mapped[str] = mapped_column(String(100))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=AgreementStatus.DRAFT.value)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    unit_signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    unit_signed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    org_signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    org_signed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: The year-end review (年度评议) that closes the agreement.
    review: Mapped[str] = mapped_column(Text, default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    unit: Mapped[OrgNode] = relationship(foreign_keys=[unit_id])
    org: Mapped[OrgNode] = relationship(foreign_keys=[org_id])
    unit_signed_by: Mapped[User | None] = relationship(foreign_keys=[unit_signed_by_id])
    org_signed_by: Mapped[User | None] = relationship(foreign_keys=[org_signed_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    items: Mapped[list[Commitment]] = relationship(
        back_populates="agreement", order_by="Commitment.position, Commitment.id",
        cascade="all, delete-orphan")

    @property
    def status_enum(self) -> AgreementStatus:
        return AgreementStatus(self.status)

    @property
    def any_signed(self) -> bool:
        return self.unit_signed_at is not None or self.org_signed_at is not None

    # Permissions: each side sees the agreement; only its own side signs for it.
    def signs_for_unit(self, user) -> bool:
        from timebank.accounts.models import Role

        return user.is_authenticated and user.has_role(Role.UNIT_LIAISON, self.unit)

    def signs_for_org(self, user) -> bool:
        return self.org.can_manage(user)

    def can_view(self, user) -> bool:
        """The unit's liaison, and whoever manages the community or street party to it (its
        staff, its street's admin, the district). Another unit or community: not at all."""
        return self.signs_for_unit(user) or self.signs_for_org(user)


class Commitment(db.Model):
    """One item the unit commits to in an agreement, with a target amount."""

    __tablename__ = "unit_agreement_items"
    __table_args__ = (
        CheckConstraint("kind IN ('hours', 'project', 'venue', 'funds', 'contact')",
                        name="kind_valid"),
        CheckConstraint("target > 0", name="target_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(
        ForeignKey("unit_agreements.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(200))
    #: Minutes for service hours, yuan for funds, a count for the other kinds.
    target: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(default=0)

    agreement: Mapped[Agreement] = relationship(back_populates="items")
    fulfilments: Mapped[list[Fulfilment]] = relationship(
        back_populates="item", order_by="Fulfilment.on_date, Fulfilment.id",
        cascade="all, delete-orphan")

    @property
    def kind_enum(self) -> CommitmentKind:
        return CommitmentKind(self.kind)


class Fulfilment(db.Model):
    """Something done against a commitment, entered by the community's (or street's) staff,
    optionally pointing at the post or project it happened through."""

    __tablename__ = "unit_agreement_fulfilments"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("unit_agreement_items.id", ondelete="CASCADE"), index=True)
    #: Same unit as the commitment's target.
    amount: Mapped[int] = mapped_column(Integer)
    on_date: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    #: Where the proof is: a file number, a receipt, a link.
    evidence: Mapped[str] = mapped_column(String(300), default="")
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)

    item: Mapped[Commitment] = relationship(back_populates="fulfilments")
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
