"""The three lists (三张清单): the demand list (需求清单) communities keep, the resource list
(资源清单) units and members offer, and the project list (项目清单) formed by pairing them.

A demand belongs to at most one project (``Demand.project_id``); a resource may serve several
projects, each with a quantity (``ProjectResource``). Projects are claimed (项目认领) by units or
members, who become its owners; a project can generate posts (the posts package's sessions).
"""
from __future__ import annotations

import datetime as dt
import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (Boolean, CheckConstraint, Column, Date, ForeignKey, Index, String, Table,
                        Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.accounts.models import User
from timebank.core import clock
from timebank.core.db import UTCDateTime
from timebank.extensions import db
from timebank.members.models import Member, Skill
from timebank.orgs.models import OrgKind, OrgNode
from timebank.catalogue.models import PostCategory


class ResourceKind(enum.StrEnum):
    """What a resource is, and what kind of resource a demand needs."""

    VOLUNTEERS = "volunteers"
    VENUE = "venue"
    EQUIPMENT = "equipment"
    FUNDS = "funds"
    EXPERTISE = "expertise"

    @property
    def label(self) -> str:
        return str(RESOURCE_KIND_LABELS[self])

    @property
    def unit_label(self) -> str:
        return str(QUANTITY_UNITS[self])


RESOURCE_KIND_LABELS = {
    ResourceKind.VOLUNTEERS: _l("Volunteer time"),
    ResourceKind.VENUE: _l("Venue"),
    ResourceKind.EQUIPMENT: _l("Equipment or materials"),
    ResourceKind.FUNDS: _l("Funds"),
    ResourceKind.EXPERTISE: _l("Professional expertise"),
}
#: What ``quantity`` counts, per kind.
QUANTITY_UNITS = {
    ResourceKind.VOLUNTEERS: _l("people"),
    ResourceKind.VENUE: _l("venues"),
    ResourceKind.EQUIPMENT: _l("items"),
    ResourceKind.FUNDS: _l("yuan"),
    ResourceKind.EXPERTISE: _l("people"),
}


# --- demands -----------------------------------------------------------------------------------


class DemandStatus(enum.StrEnum):
    OPEN = "open"
    MATCHED = "matched"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return str(DEMAND_STATUS_LABELS[self])


DEMAND_STATUS_LABELS = {
    DemandStatus.OPEN: _l("Awaiting a match"),
    DemandStatus.MATCHED: _l("Matched"),
    DemandStatus.IN_PROGRESS: _l("In progress"),
    DemandStatus.DONE: _l("Done"),
    DemandStatus.WITHDRAWN: _l("Withdrawn from the list"),
}

#: The only status changes a demand may make (operations enforce them).
DEMAND_TRANSITIONS: dict[DemandStatus, frozenset[DemandStatus]] = {
    DemandStatus.OPEN: frozenset({DemandStatus.MATCHED, DemandStatus.WITHDRAWN}),
    # Back to open when its project is cancelled.
    DemandStatus.MATCHED: frozenset({DemandStatus.IN_PROGRESS, DemandStatus.OPEN,
                                     DemandStatus.WITHDRAWN}),
    DemandStatus.IN_PROGRESS: frozenset({DemandStatus.DONE, DemandStatus.OPEN}),
    DemandStatus.DONE: frozenset(),
    DemandStatus.WITHDRAWN: frozenset(),
}

URGENCY_LABELS = {1: _l("Normal"), 2: _l("Soon"), 3: _l("Urgent")}

demand_skills = Table(
    "demand_skills", db.metadata,
    Column("demand_id", ForeignKey("demands.id", ondelete="CASCADE"), primary_key=True),
    Column("skill_id", ForeignKey("skills.id"), primary_key=True, index=True),
)


class Demand(db.Model):
    """A need on a community's demand list, also on behalf of a resident (微心愿)."""

    __tablename__ = "demands"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'matched', 'in_progress', 'done', 'withdrawn')",
                        name="status_valid"),
        CheckConstraint("need_kind IN ('volunteers', 'venue', 'equipment', 'funds', 'expertise')",
                        name="need_kind_valid"),
        CheckConstraint("urgency BETWEEN 1 AND 3", name="urgency_range"),
        CheckConstraint("people_needed >= 1", name="people_positive"),
        CheckConstraint("minutes_needed IS NULL OR minutes_needed > 0", name="minutes_positive"),
        CheckConstraint("window_end IS NULL OR window_start IS NULL OR window_end >= window_start",
                        name="window_ordered"),
        Index("ix_demands_community_id_status", "community_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    #: Where, when narrower than the community.
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("org_nodes.id"))
    category_id: Mapped[int] = mapped_column(ForeignKey("post_categories.id"))
    need_kind: Mapped[str] = mapped_column(String(16), default=ResourceKind.VOLUNTEERS.value)
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    #: The resident a micro-wish (微心愿) is published for; shown to staff only.
    resident_name: Mapped[str] = mapped_column(String(50), default="")
    is_wish: Mapped[bool] = mapped_column(Boolean, default=False)
    people_needed: Mapped[int] = mapped_column(default=1)
    #: Hours of service needed in all, in minutes (None: not counted in hours).
    minutes_needed: Mapped[int | None]
    #: The period the help is wanted in (local dates, inclusive); None = open-ended.
    window_start: Mapped[dt.date | None] = mapped_column(Date)
    window_end: Mapped[dt.date | None] = mapped_column(Date)
    #: 1 normal, 2 soon, 3 urgent.
    urgency: Mapped[int] = mapped_column(default=1)
    #: Last local day a match is useful; the matcher skips demands past it.
    deadline: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=DemandStatus.OPEN.value)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    community: Mapped[OrgNode] = relationship(foreign_keys=[community_id], lazy="joined")
    grid: Mapped[OrgNode | None] = relationship(foreign_keys=[grid_id])
    category: Mapped[PostCategory] = relationship(lazy="joined")
    skills: Mapped[list[Skill]] = relationship(secondary=demand_skills, lazy="selectin",
                                               order_by=Skill.position)
    project: Mapped[Project | None] = relationship(back_populates="demands")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    @property
    def status_enum(self) -> DemandStatus:
        return DemandStatus(self.status)

    @property
    def need_kind_enum(self) -> ResourceKind:
        return ResourceKind(self.need_kind)

    @property
    def urgency_label(self) -> str:
        return str(URGENCY_LABELS.get(self.urgency, self.urgency))

    @property
    def place(self) -> OrgNode:
        return self.grid or self.community

    def can_manage(self, user) -> bool:
        return self.community.can_manage(user)

    def can_view(self, user) -> bool:
        """Staff of the community see every demand; everyone else the published ones (a
        withdrawn demand is gone from the list)."""
        return self.can_manage(user) or (user.is_authenticated
                                         and self.status != DemandStatus.WITHDRAWN)


# --- resources ---------------------------------------------------------------------------------


class ResourceStatus(enum.StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return str({ResourceStatus.ACTIVE: _l("On offer"),
                    ResourceStatus.WITHDRAWN: _l("Withdrawn from the list")}[self])


resource_skills = Table(
    "resource_skills", db.metadata,
    Column("resource_id", ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True),
    Column("skill_id", ForeignKey("skills.id"), primary_key=True, index=True),
)

#: Kinds of org node a resource may serve.
AREA_KINDS = (OrgKind.COMMUNITY, OrgKind.STREET, OrgKind.DISTRICT)


class Resource(db.Model):
    """What a unit (through its liaison) or a member offers."""

    __tablename__ = "resources"
    __table_args__ = (
        CheckConstraint("kind IN ('volunteers', 'venue', 'equipment', 'funds', 'expertise')",
                        name="kind_valid"),
        CheckConstraint("status IN ('active', 'withdrawn')", name="status_valid"),
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        # Offered by exactly one of: a unit, a member.
        CheckConstraint("(unit_id IS NULL) <> (member_id IS NULL)", name="one_owner"),
        CheckConstraint("available_until IS NULL OR available_from IS NULL "
                        "OR available_until >= available_from", name="window_ordered"),
        Index("ix_resources_area_id_status", "area_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_nodes.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    category_id: Mapped[int | None] = mapped_column(ForeignKey("post_categories.id"))
    #: People, venues, items or yuan (see ``QUANTITY_UNITS``).
    quantity: Mapped[int] = mapped_column(default=1)
    #: The community, street or district the offer covers.
    area_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    available_from: Mapped[dt.date | None] = mapped_column(Date)
    available_until: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=ResourceStatus.ACTIVE.value)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    unit: Mapped[OrgNode | None] = relationship(foreign_keys=[unit_id])
    member: Mapped[Member | None] = relationship(foreign_keys=[member_id])
    area: Mapped[OrgNode] = relationship(foreign_keys=[area_id], lazy="joined")
    category: Mapped[PostCategory | None] = relationship()
    skills: Mapped[list[Skill]] = relationship(secondary=resource_skills, lazy="selectin",
                                               order_by=Skill.position)

    @property
    def kind_enum(self) -> ResourceKind:
        return ResourceKind(self.kind)

    @property
    def status_enum(self) -> ResourceStatus:
        return ResourceStatus(self.status)

    @property
    def owner_name(self) -> str:
        if self.unit is not None:
            return self.unit.name
        return self.member.name if self.member is not None else ""

    def can_edit(self, user) -> bool:
        """The unit's liaison, or the member themself."""
        if not user.is_authenticated:
            return False
        if self.unit is not None:
            from timebank.accounts.models import Role

            return user.has_role(Role.UNIT_LIAISON, self.unit)
        return self.member is not None and self.member.user_id == user.id

    def can_view(self, user) -> bool:
        return user.is_authenticated and (self.status == ResourceStatus.ACTIVE
                                          or self.can_edit(user))


# --- projects ----------------------------------------------------------------------------------


class ProjectStatus(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return str(PROJECT_STATUS_LABELS[self])


PROJECT_STATUS_LABELS = {
    ProjectStatus.OPEN: _l("Open for claiming"),
    ProjectStatus.IN_PROGRESS: _l("In progress"),
    ProjectStatus.DONE: _l("Completed"),
    ProjectStatus.CANCELLED: _l("Cancelled"),
}

PROJECT_TRANSITIONS: dict[ProjectStatus, frozenset[ProjectStatus]] = {
    ProjectStatus.OPEN: frozenset({ProjectStatus.IN_PROGRESS, ProjectStatus.CANCELLED}),
    ProjectStatus.IN_PROGRESS: frozenset({ProjectStatus.DONE, ProjectStatus.CANCELLED}),
    ProjectStatus.DONE: frozenset(),
    ProjectStatus.CANCELLED: frozenset(),
}


class Project(db.Model):
    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'in_progress', 'done', 'cancelled')",
                        name="status_valid"),
        Index("ix_projects_community_id_status", "community_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    category_id: Mapped[int | None] = mapped_column(ForeignKey("post_categories.id"))
    status: Mapped[str] = mapped_column(String(16), default=ProjectStatus.OPEN.value)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: What was achieved (on completion) or why it was cancelled.
    outcome: Mapped[str] = mapped_column(Text, default="")

    community: Mapped[OrgNode] = relationship(lazy="joined")
    category: Mapped[PostCategory | None] = relationship()
    demands: Mapped[list[Demand]] = relationship(back_populates="project", order_by="Demand.id")
    owners: Mapped[list[ProjectOwner]] = relationship(
        back_populates="project", order_by="ProjectOwner.id", cascade="all, delete-orphan")
    resources: Mapped[list[ProjectResource]] = relationship(
        back_populates="project", order_by="ProjectResource.added_at",
        cascade="all, delete-orphan")
    notes: Mapped[list[ProjectNote]] = relationship(
        back_populates="project", order_by="ProjectNote.id", cascade="all, delete-orphan")

    @property
    def status_enum(self) -> ProjectStatus:
        return ProjectStatus(self.status)

    @property
    def is_live(self) -> bool:
        return self.status in (ProjectStatus.OPEN, ProjectStatus.IN_PROGRESS)

    def can_manage(self, user) -> bool:
        return self.community.can_manage(user)

    def can_view(self, user) -> bool:
        return user.is_authenticated


class ProjectOwner(db.Model):
    """A unit or member that claimed the project (项目认领)."""

    __tablename__ = "project_owners"
    __table_args__ = (
        CheckConstraint("(unit_id IS NULL) <> (member_id IS NULL)", name="one_owner"),
        UniqueConstraint("project_id", "unit_id"),
        UniqueConstraint("project_id", "member_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_nodes.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)

    project: Mapped[Project] = relationship(back_populates="owners")
    unit: Mapped[OrgNode | None] = relationship()
    member: Mapped[Member | None] = relationship()

    @property
    def name(self) -> str:
        return self.unit.name if self.unit is not None else self.member.name


class ProjectResource(db.Model):
    __tablename__ = "project_resources"
    __table_args__ = (CheckConstraint("quantity >= 1", name="quantity_positive"),)

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"),
                                            primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), primary_key=True,
                                             index=True)
    quantity: Mapped[int] = mapped_column(default=1)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)

    project: Mapped[Project] = relationship(back_populates="resources")
    resource: Mapped[Resource] = relationship(lazy="joined")


class ProjectNote(db.Model):
    """A progress note by an owner or staff."""

    __tablename__ = "project_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"),
                                            index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)

    project: Mapped[Project] = relationship(back_populates="notes")
    author: Mapped[User | None] = relationship()


class ProjectPost(db.Model):
    """A post generated from a project (the post itself belongs to the posts package)."""

    __tablename__ = "project_posts"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"),
                                            primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"),
                                         primary_key=True, unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
