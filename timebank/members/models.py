"""Members (在职党员) reporting to the community where they live."""
from __future__ import annotations

import datetime as dt
import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.accounts.models import User
from timebank.core import clock
from timebank.core.db import UTCDateTime
from timebank.extensions import db
from timebank.orgs.models import OrgNode


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
    MemberStatus.REJECTED: _l("Rejected"),
    MemberStatus.INACTIVE: _l("Inactive"),
}


class Member(db.Model):
    __tablename__ = "members"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'inactive')", name="status_valid"
        ),
        Index("ix_members_community_id_status", "community_id", "status"),
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

    def can_view(self, user) -> bool:
        """The member, staff managing their community, and their unit's liaison."""
        if not user.is_authenticated:
            return False
        if user.id == self.user_id or self.community.can_manage(user):
            return True
        return self.unit is not None and user.has_role("unit_liaison", self.unit)

    def can_manage(self, user) -> bool:
        return self.community.can_manage(user)
