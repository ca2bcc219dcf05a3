"""Users and their roles. A role is held on a node of the organisation tree and covers
everything below that node."""
from __future__ import annotations

import datetime as dt
import enum

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.core import clock
from timebank.core.db import UTCDateTime
from timebank.extensions import db
from timebank.orgs.models import OrgKind, OrgNode


class Role(enum.StrEnum):
    DISTRICT_ADMIN = "district_admin"
    STREET_ADMIN = "street_admin"
    COMMUNITY_STAFF = "community_staff"
    UNIT_LIAISON = "unit_liaison"
    MEMBER = "member"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])

    @property
    def node_kind(self) -> OrgKind:
        return ROLE_NODE_KIND[self]


ROLE_LABELS = {
    Role.DISTRICT_ADMIN: _l("District admin"),
    Role.STREET_ADMIN: _l("Street admin"),
    Role.COMMUNITY_STAFF: _l("Community staff"),
    Role.UNIT_LIAISON: _l("Unit liaison"),
    Role.MEMBER: _l("Member"),
}

#: The kind of node each role is held on.
ROLE_NODE_KIND = {
    Role.DISTRICT_ADMIN: OrgKind.DISTRICT,
    Role.STREET_ADMIN: OrgKind.STREET,
    Role.COMMUNITY_STAFF: OrgKind.COMMUNITY,
    Role.UNIT_LIAISON: OrgKind.UNIT,
    Role.MEMBER: OrgKind.COMMUNITY,
}

#: Roles that administer the part of the tree they are held on.
MANAGING_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.STREET_ADMIN, Role.COMMUNITY_STAFF})
#: Roles that may change the tree itself and hand out roles (community staff may only add grids
#: and members within their community, see ``can_assign``).
ADMIN_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.STREET_ADMIN})


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Normalised mainland mobile number, the login name.
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: Bumped on password change; part of the session id so old sessions stop working.
    session_version: Mapped[int] = mapped_column(default=1)

    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user",
        lazy="selectin",
        cascade="all, delete-orphan",
        foreign_keys="RoleAssignment.user_id",
    )

    def __repr__(self) -> str:
        return f"<User {self.id} {self.name}>"

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return self.active

    def has_role(self, role: Role, node: OrgNode | None = None) -> bool:
        return any(
            ra.role == role and (node is None or node.is_within(ra.org)) for ra in self.roles
        )

    def role_nodes(self, *roles: Role) -> list[OrgNode]:
        return [ra.org for ra in self.roles if ra.role in roles and ra.org.active]

    @property
    def is_staff(self) -> bool:
        """Holds any managing role (district, street or community)."""
        return any(ra.role in MANAGING_ROLES for ra in self.roles)

    @property
    def is_admin(self) -> bool:
        return any(ra.role in ADMIN_ROLES for ra in self.roles)

    @property
    def is_liaison(self) -> bool:
        return any(ra.role == Role.UNIT_LIAISON for ra in self.roles)

    @property
    def is_member(self) -> bool:
        return any(ra.role == Role.MEMBER for ra in self.roles)

    def manages(self, node: OrgNode, roles=MANAGING_ROLES) -> bool:
        """A managing role on ``node`` or an ancestor (deactivated scopes grant nothing)."""
        return any(ra.role in roles and ra.org.active and node.is_within(ra.org) for ra in self.roles)

    def administers(self, node: OrgNode) -> bool:
        return self.manages(node, ADMIN_ROLES)

    def can_assign(self, role: Role, node: OrgNode) -> bool:
        if node.kind != role.node_kind:
            return False
        if self.administers(node):
            return True
        # Community staff add members (and colleagues) to their own community.
        return role in (Role.MEMBER, Role.COMMUNITY_STAFF) and self.manages(node)

    def scope_roots(self) -> list[OrgNode]:
        """Top-most nodes this user manages, for lists and trees."""
        nodes = self.role_nodes(*MANAGING_ROLES)
        return [n for n in nodes if not any(o is not n and n.is_within(o) for o in nodes)]


class RoleAssignment(db.Model):
    __tablename__ = "role_assignments"
    __table_args__ = (
        UniqueConstraint("user_id", "role", "org_id"),
        CheckConstraint(
            "role IN ('district_admin', 'street_admin', 'community_staff', 'unit_liaison',"
            " 'member')",
            name="role_valid",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    org_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User] = relationship(back_populates="roles", foreign_keys=[user_id])
    org: Mapped[OrgNode] = relationship(lazy="joined")

    @property
    def role_enum(self) -> Role:
        return Role(self.role)
