"""Issued certificates. What was issued is kept as it was (``content``, with its SHA-256), so a
printed copy can be checked against the verification page however the records change later."""
from __future__ import annotations

import datetime as dt
import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.core import clock
from timebank.core.db import UTCDateTime
from timebank.extensions import db
from timebank.members.models import Member
from timebank.orgs.models import OrgNode


class CertificateStatus(enum.StrEnum):
    VALID = "valid"
    REVOKED = "revoked"
    #: A newer certificate of the same member and period replaced it.
    SUPERSEDED = "superseded"

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self])


STATUS_LABELS = {
    CertificateStatus.VALID: _l("Valid"),
    CertificateStatus.REVOKED: _l("Revoked"),
    CertificateStatus.SUPERSEDED: _l("Superseded by a newer certificate"),
}


class Certificate(db.Model):
    __tablename__ = "certificates"
    __table_args__ = (
        CheckConstraint("status IN ('valid', 'revoked', 'superseded')", name="status_valid"),
        CheckConstraint("period_end >= period_start", name="period_ordered"),
        CheckConstraint("total_minutes >= 0", name="total_not_negative"),
        Index("ix_certificates_member_id_period", "member_id", "period_start", "period_end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Printed on the certificate: ZYFW-<year>-<id>.
    serial: Mapped[str] = mapped_column(String(32), unique=True)
    #: The unguessable code of the verification URL (secrets.token_urlsafe).
    code: Mapped[str] = mapped_column(String(64), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    #: The organisation that recorded the service and issues the certificate (谁记录谁证明):
    #: the member's community.
    issuer_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    #: Local dates, both included.
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    total_minutes: Mapped[int]
    #: Everything printed, as issued (names, masked ID number, services ...).
    content: Mapped[dict] = mapped_column(JSON)
    #: SHA-256 of the canonical JSON of ``content``.
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=CertificateStatus.VALID.value)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))

    member: Mapped[Member] = relationship()
    issuer: Mapped[OrgNode] = relationship()

    @property
    def status_enum(self) -> CertificateStatus:
        return CertificateStatus(self.status)

    @property
    def is_valid(self) -> bool:
        return self.status == CertificateStatus.VALID

    def can_download(self, user) -> bool:
        """The member themself and staff managing the member's community."""
        return user.is_authenticated and (user.id == self.member.user_id
                                          or self.member.community.can_manage(user))

    def can_revoke(self, user) -> bool:
        return user.is_authenticated and self.is_valid and self.member.community.can_manage(user)
