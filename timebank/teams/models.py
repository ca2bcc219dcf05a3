"""Volunteer teams (志愿服务队, issue 15): a team belongs to a community (or a grid inside it),
has a leader and members over time, and its leader can claim several places of a post's session
for named team members in one step (a team claim)."""
from __future__ import annotations

import datetime as dt
import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (Boolean, CheckConstraint, Date, ForeignKey, Index, String, Text,
                        UniqueConstraint, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.core import clock
from timebank.core.db import UTCDateTime
from timebank.extensions import db
from timebank.members.models import Member
from timebank.orgs.models import OrgNode
from timebank.posts.models import PostSession


class TeamKind(enum.StrEnum):
    GRID = "grid"  # 网格志愿者服务队
    RETIRED = "retired"  # 离退休党员服务队
    SPECIALIST = "specialist"  # 专业服务队 (repairs, legal advice, health care ...)
    UNIT = "unit"  # 单位服务队
    YOUTH = "youth"  # 青年服务队
    OTHER = "other"

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self])


KIND_LABELS = {
    TeamKind.GRID: _l("Grid volunteer team"),
    TeamKind.RETIRED: _l("Retired party members' team"),
    TeamKind.SPECIALIST: _l("Specialist team"),
    TeamKind.UNIT: _l("Unit team"),
    TeamKind.YOUTH: _l("Youth team"),
    TeamKind.OTHER: _l("Other team"),
}


class TeamRole(enum.StrEnum):
    LEADER = "leader"
    MEMBER = "member"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {TeamRole.LEADER: _l("Team leader"), TeamRole.MEMBER: _l("Team member")}


class Team(db.Model):
    __tablename__ = "teams"
    __table_args__ = (
        UniqueConstraint("community_id", "name"),
        CheckConstraint("kind IN ('grid', 'retired', 'specialist', 'unit', 'youth', 'other')",
                        name="kind_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    #: The owning community; staff who manage it (or an ancestor) manage the team.
    community_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"), index=True)
    #: A grid of that community when the team is the grid's own (网格志愿者服务队).
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("org_nodes.id"))
    #: What the team offers, in the staff's words (电器维修、法律咨询、医疗保健 ...).
    specialties: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    community: Mapped[OrgNode] = relationship(foreign_keys=[community_id])
    grid: Mapped[OrgNode | None] = relationship(foreign_keys=[grid_id])

    @property
    def kind_enum(self) -> TeamKind:
        return TeamKind(self.kind)

    @property
    def owner(self) -> OrgNode:
        return self.grid or self.community

    def can_manage(self, user) -> bool:
        """Staff of the owning community, its street or the district."""
        return self.community.can_manage(user)


class TeamMembership(db.Model):
    """A member's time in a team: current while ``left_on`` is empty. Leaving keeps the row, so
    the team's history stays; joining again writes a new row."""

    __tablename__ = "team_memberships"
    __table_args__ = (
        CheckConstraint("role IN ('leader', 'member')", name="role_valid"),
        CheckConstraint("left_on IS NULL OR left_on >= joined_on", name="dates_valid"),
        # One current membership per member and team, and one current leader per team.
        Index("uq_team_memberships_current", "team_id", "member_id", unique=True,
              sqlite_where=text("left_on IS NULL"), postgresql_where=text("left_on IS NULL")),
        Index("uq_team_memberships_leader", "team_id", unique=True,
              sqlite_where=text("left_on IS NULL AND role = 'leader'"),
              postgresql_where=text("left_on IS NULL AND role = 'leader'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    role: Mapped[str] = mapped_column(String(16), default=TeamRole.MEMBER.value)
    joined_on: Mapped[dt.date] = mapped_column(Date)
    left_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)

    team: Mapped[Team] = relationship()
    member: Mapped[Member] = relationship()

    @property
    def is_current(self) -> bool:
        return self.left_on is None

    @property
    def role_enum(self) -> TeamRole:
        return TeamRole(self.role)


class TeamClaim(db.Model):
    """One team claim: the leader took places of a session for named members in one step. Each
    place is an ordinary claim (``TeamClaimPlace.claim_id``), made through the posts claim."""

    __tablename__ = "team_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("post_sessions.id", ondelete="CASCADE"),
                                            index=True)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)

    team: Mapped[Team] = relationship()
    session: Mapped[PostSession] = relationship()
    places: Mapped[list[TeamClaimPlace]] = relationship(back_populates="team_claim",
                                                        cascade="all, delete-orphan")


class TeamClaimPlace(db.Model):
    __tablename__ = "team_claim_places"
    __table_args__ = (UniqueConstraint("team_claim_id", "claim_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_claim_id: Mapped[int] = mapped_column(ForeignKey("team_claims.id", ondelete="CASCADE"))
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"),
                                          index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))

    team_claim: Mapped[TeamClaim] = relationship(back_populates="places")
    member: Mapped[Member] = relationship()
