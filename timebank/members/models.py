"""Members (在职党员) reporting to the community where they live, the registration form
(特长爱好和服务意愿登记表) in versions, the skills vocabulary and units' dual reporting."""
from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import (Boolean, CheckConstraint, Column, ForeignKey, Index, Integer, String, Table,
                        Text, UniqueConstraint, event)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.accounts.models import User
from timebank.core import clock
from timebank.core.db import Bilingual, UTCDateTime
from timebank.core.validators import mask_phone
from timebank.extensions import db
from timebank.orgs.models import OrgNode

if TYPE_CHECKING:
    from timebank.catalogue.models import PostCategory, PostKind

#: Parts of a day a member can be free in; the order defines the availability bit layout.
SLOTS = ("morning", "afternoon", "evening")
SLOT_LABELS = {"morning": _l("Morning"), "afternoon": _l("Afternoon"), "evening": _l("Evening")}
WEEKDAY_LABELS = (_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun"))
#: Context strings bound into the ciphertext / keyed hash of ID card numbers.
ID_NUMBER_CONTEXT = "members.id_number"


def slot_of(local_time: dt.time | dt.datetime) -> str:
    """The slot a wall-clock time falls in: morning < 12:00 <= afternoon < 18:00 <= evening."""
    if isinstance(local_time, dt.datetime):
        local_time = local_time.time()
    if local_time < dt.time(12):
        return "morning"
    if local_time < dt.time(18):
        return "afternoon"
    return "evening"


def availability_bit(weekday: int, slot: str) -> int:
    if not 0 <= weekday <= 6 or slot not in SLOTS:
        raise ValueError(f"bad availability cell {(weekday, slot)!r}")
    return 1 << (weekday * len(SLOTS) + SLOTS.index(slot))


def availability_to_mask(cells) -> int:
    """{(weekday 0=Mon..6, slot)} -> the 21-bit integer stored on a profile."""
    mask = 0
    for weekday, slot in cells:
        mask |= availability_bit(weekday, slot)
    return mask


#: Bit i of the availability mask <-> _CELLS[i].
_CELLS = tuple((d, s) for d in range(7) for s in SLOTS)


def mask_to_availability(mask: int) -> frozenset[tuple[int, str]]:
    return frozenset(cell for i, cell in enumerate(_CELLS) if mask >> i & 1)


def mask_id_number(number: str | None) -> str:
    """``11010519491231002X`` -> ``110105********002X`` (region and last four only)."""
    if not number:
        return ""
    if len(number) != 18:
        return "*" * len(number)
    return f"{number[:6]}{'*' * 8}{number[-4:]}"


class MemberStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    INACTIVE = "inactive"

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self])


STATUS_LABELS = {
    MemberStatus.PENDING: _l("Pending"),
    MemberStatus.APPROVED: _l("Approved"),
    MemberStatus.REJECTED: _l("Not approved"),
    MemberStatus.INACTIVE: _l("Inactive"),
}


class Skill(Bilingual, db.Model):
    """The managed skills vocabulary (curated by district admins)."""

    __tablename__ = "skills"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable code (used by imports and other features); never changes.
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    name_en: Mapped[str] = mapped_column(String(80), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(default=0)


class Member(db.Model):
    __tablename__ = "members"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'inactive')", name="status_valid"
        ),
        # The directory lists a community by status in name order (and counts by status), and
        # searches within a community by pinyin initials prefix or the phone's last digits.
        Index("ix_members_community_id_status_name_initials", "community_id", "status",
              "name_initials"),
        Index("ix_members_community_id_name_initials", "community_id", "name_initials"),
        Index("ix_members_community_id_phone_tail", "community_id", "phone_tail"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    #: Residence community (where the member reports) and grid inside it.
    community_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("org_nodes.id"), index=True)
    #: Work unit (驻区单位); None for members whose unit is outside the district.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_nodes.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=MemberStatus.PENDING.value)
    reject_reason: Mapped[str | None] = mapped_column(Text)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    #: ID card number, AES-GCM encrypted (see core.crypto); None for members added without one.
    id_number_ciphertext: Mapped[str | None] = mapped_column(Text)
    #: Keyed HMAC of the ID number: finds a member by ID number and keeps it unique.
    id_number_hmac: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: Pinyin initials of the name ("张三丰" -> "zsf") for the directory search.
    name_initials: Mapped[str] = mapped_column(String(50), default="", server_default="")
    #: Last four digits of the phone, for the directory search.
    phone_tail: Mapped[str] = mapped_column(String(4), default="", server_default="")
    #: Version number of the current registration form; 0 = not filled yet.
    profile_version: Mapped[int] = mapped_column(default=0, server_default="0")
    #: When the member last submitted (or resubmitted) the application.
    applied_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    community: Mapped[OrgNode] = relationship(foreign_keys=[community_id])
    grid: Mapped[OrgNode | None] = relationship(foreign_keys=[grid_id])
    unit: Mapped[OrgNode | None] = relationship(foreign_keys=[unit_id])

    @property
    def status_enum(self) -> MemberStatus:
        return MemberStatus(self.status)

    @property
    def is_approved(self) -> bool:
        return self.status == MemberStatus.APPROVED

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def id_number(self) -> str | None:
        """The decrypted ID number; only for the logged reveal action and the member themself."""
        if not self.id_number_ciphertext:
            return None
        from timebank.core import crypto

        return crypto.decrypt(self.id_number_ciphertext, ID_NUMBER_CONTEXT)

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.user.phone)

    def can_view(self, user) -> bool:
        """The member, staff managing their community, and their unit's liaison."""
        if not user.is_authenticated:
            return False
        if user.id == self.user_id or self.community.can_manage(user):
            return True
        return self.unit is not None and user.has_role("unit_liaison", self.unit)

    def can_manage(self, user) -> bool:
        return self.community.can_manage(user)


member_profile_skills = Table(
    "member_profile_skills", db.metadata,
    Column("profile_id", ForeignKey("member_profiles.id", ondelete="CASCADE"), primary_key=True),
    Column("skill_id", ForeignKey("skills.id"), primary_key=True, index=True),
)
member_profile_categories = Table(
    "member_profile_categories", db.metadata,
    Column("profile_id", ForeignKey("member_profiles.id", ondelete="CASCADE"), primary_key=True),
    Column("category_id", ForeignKey("post_categories.id"), primary_key=True, index=True),
)
member_profile_kinds = Table(
    "member_profile_kinds", db.metadata,
    Column("profile_id", ForeignKey("member_profiles.id", ondelete="CASCADE"), primary_key=True),
    Column("kind_id", ForeignKey("post_kinds.id"), primary_key=True, index=True),
)


class ProfileSource(enum.StrEnum):
    MEMBER = "member"
    STAFF = "staff"
    IMPORT = "import"

    @property
    def label(self) -> str:
        return str({ProfileSource.MEMBER: _l("Filled in by the member"),
                    ProfileSource.STAFF: _l("Entered by staff"),
                    ProfileSource.IMPORT: _l("Imported from a file")}[self])


class MemberProfile(db.Model):
    """One version of a member's registration form. A change adds a version; the newest
    (``Member.profile_version``) is current and older ones are never changed."""

    __tablename__ = "member_profiles"
    __table_args__ = (
        UniqueConstraint("member_id", "version"),
        CheckConstraint("availability >= 0 AND availability < 2097152", name="availability_21"),
        CheckConstraint("source IN ('member', 'staff', 'import')", name="source_valid"),
        CheckConstraint("max_sessions_per_month IS NULL OR max_sessions_per_month >= 0",
                        name="max_sessions_nonneg"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(String(16), default=ProfileSource.MEMBER.value)
    free_text_skills: Mapped[str] = mapped_column(Text, default="")
    hobbies: Mapped[str] = mapped_column(Text, default="")
    #: 21 bits: bit (weekday * 3 + slot index) set = free then (weekday 0 = Monday).
    availability: Mapped[int] = mapped_column(Integer, default=0)
    max_sessions_per_month: Mapped[int | None] = mapped_column(Integer)

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    skills: Mapped[list[Skill]] = relationship(secondary=member_profile_skills, lazy="selectin",
                                               order_by=Skill.position)
    willing_categories: Mapped[list[PostCategory]] = relationship(
        secondary=member_profile_categories, lazy="selectin", order_by="PostCategory.position")
    willing_kinds: Mapped[list[PostKind]] = relationship(
        secondary=member_profile_kinds, lazy="selectin", order_by="PostKind.position")

    @property
    def availability_cells(self) -> frozenset[tuple[int, str]]:
        return mask_to_availability(self.availability)

    @property
    def source_enum(self) -> ProfileSource:
        return ProfileSource(self.source)


@event.listens_for(MemberProfile, "before_update")
def _profiles_are_append_only(mapper, connection, target):
    raise RuntimeError("registration form versions are never changed; add a new version")


class UnitReport(db.Model):
    """Dual reporting (双报到): a unit registered by its liaison with a street or community
    where its members live."""

    __tablename__ = "unit_reports"
    __table_args__ = (UniqueConstraint("unit_id", "org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"), index=True)
    #: The street or community the unit reported to.
    org_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"), index=True)
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    #: What the unit offers or a contact note, free text.
    note: Mapped[str] = mapped_column(Text, default="")

    unit: Mapped[OrgNode] = relationship(foreign_keys=[unit_id])
    org: Mapped[OrgNode] = relationship(foreign_keys=[org_id])
    reported_by: Mapped[User | None] = relationship(foreign_keys=[reported_by_id])
