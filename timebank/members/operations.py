"""Writes on members; every function takes the acting user (None = the system)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from timebank.accounts import operations as accounts
from timebank.accounts.models import Role, User
from timebank.core import clock
from timebank.core.errors import Forbidden, Invalid
from timebank.extensions import db
from timebank.members.models import Member, MemberStatus
from timebank.orgs.models import OrgKind, OrgNode


def create_approved_member(actor, user: User, community: OrgNode, grid: OrgNode | None = None,
                           unit: OrgNode | None = None) -> Member:
    """A member created by staff or the CLI: no review needed."""
    if community.kind != OrgKind.COMMUNITY:
        raise Invalid(_l("A member belongs to a community."), field="org")
    if grid is not None and grid.parent_id != community.id:
        raise Invalid(_l("The grid is not in this community."), field="grid")
    if unit is not None and unit.kind != OrgKind.UNIT:
        raise Invalid(_l("Choose a unit from the list."), field="unit")
    if actor is not None and not community.can_manage(actor):
        raise Forbidden()
    member = Member(user=user, user_id=user.id, community=community, community_id=community.id,
                    grid=grid, unit=unit, status=MemberStatus.APPROVED.value,
                    reviewed_by_id=actor.id if actor else None, reviewed_at=clock.now(),
                    created_at=clock.now())
    db.session.add(member)
    db.session.flush()
    accounts.assign_role(actor, user, Role.MEMBER, community)
    return member
