"""The organisation tree: district > streets > communities > grids, plus units (驻区单位)."""
from __future__ import annotations

import datetime as dt
import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.core import clock
from timebank.core.db import UTCDateTime
from timebank.extensions import db


class OrgKind(enum.StrEnum):
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    GRID = "grid"
    UNIT = "unit"

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self])


KIND_LABELS = {
    OrgKind.DISTRICT: _l("District"),
    OrgKind.STREET: _l("Street"),
    OrgKind.COMMUNITY: _l("Community"),
    OrgKind.GRID: _l("Grid"),
    OrgKind.UNIT: _l("Unit"),
}

#: Which kinds a node may hang under. Units sit in the district or in the street they are in.
ALLOWED_PARENTS: dict[OrgKind, tuple[OrgKind, ...]] = {
    OrgKind.DISTRICT: (),
    OrgKind.STREET: (OrgKind.DISTRICT,),
    OrgKind.COMMUNITY: (OrgKind.STREET,),
    OrgKind.GRID: (OrgKind.COMMUNITY,),
    OrgKind.UNIT: (OrgKind.DISTRICT, OrgKind.STREET),
}


class OrgNode(db.Model):
    __tablename__ = "org_nodes"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('district', 'street', 'community', 'grid', 'unit')", name="kind_valid"
        ),
        Index("ix_org_nodes_parent_id_kind", "parent_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable public code (shown in the tree, accepted by the CLI); never changes, even on a move.
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_nodes.id"))
    #: Materialised path of ids, e.g. ``/1/4/17/``: "is X under Y" is a prefix test and a
    #: subtree is one indexed range query.
    path: Mapped[str] = mapped_column(String(255), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)

    parent: Mapped[OrgNode | None] = relationship(remote_side=[id], lazy="joined", join_depth=3)

    def __repr__(self) -> str:
        return f"<OrgNode {self.code} {self.kind} {self.name}>"

    @property
    def org_kind(self) -> OrgKind:
        return OrgKind(self.kind)

    @property
    def ancestor_ids(self) -> list[int]:
        """Ids from the root down to this node, inclusive."""
        return [int(p) for p in self.path.strip("/").split("/") if p]

    def is_within(self, other: OrgNode) -> bool:
        """True if this node is ``other`` or below it."""
        return self.path.startswith(other.path)

    def ancestor_of_kind(self, kind: OrgKind) -> OrgNode | None:
        node: OrgNode | None = self
        while node is not None and node.kind != kind:
            node = node.parent
        return node

    @property
    def street(self) -> OrgNode | None:
        return self.ancestor_of_kind(OrgKind.STREET)

    @property
    def community(self) -> OrgNode | None:
        return self.ancestor_of_kind(OrgKind.COMMUNITY)

    @property
    def full_name(self) -> str:
        names = []
        node: OrgNode | None = self
        while node is not None and node.kind != OrgKind.DISTRICT:
            names.append(node.name)
            node = node.parent
        return " / ".join(reversed(names))

    # Permissions follow the tree: a managing role on this node or any ancestor covers it.
    def can_manage(self, user) -> bool:
        return user.is_authenticated and user.manages(self)

    def can_restructure(self, user) -> bool:
        """Move or deactivate: needs management of the parent, not just of the node itself."""
        return self.parent is not None and self.parent.can_manage(user)
