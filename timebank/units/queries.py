"""Reads for the units pages: rosters and their states, the agreements a user is party to, and
the progress of an agreement's commitments."""
from __future__ import annotations

import dataclasses

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import aliased, joinedload

from timebank.accounts.models import MANAGING_ROLES, Role
from timebank.extensions import db
from timebank.members import operations as members_ops
from timebank.members import queries as members_queries
from timebank.members.models import Member, MemberStatus
from timebank.orgs.models import OrgKind, OrgNode
from timebank.units.models import Agreement, AgreementStatus, Commitment, Fulfilment, RosterEntry

#: Where a roster row stands: no member record yet (在册未注册), waiting for review, reported
#: (approved), or rejected / inactive.
ROSTER_STATES = ("unregistered", "pending", "approved", "other")


def roster_units(user) -> list[OrgNode]:
    """The units whose roster the user keeps: their own as liaison, every unit in an admin's
    scope."""
    units = {u.id: u for u in members_queries.liaison_units(user)}
    if user.is_admin:
        for u in members_queries.active_units():
            if members_ops.can_liaise(user, u):
                units.setdefault(u.id, u)
    return sorted(units.values(), key=lambda u: u.name)


def roster_state(entry: RosterEntry) -> str:
    if entry.member is None:
        return "unregistered"
    if entry.member.status == MemberStatus.APPROVED:
        return "approved"
    if entry.member.status == MemberStatus.PENDING:
        return "pending"
    return "other"


def roster(unit: OrgNode, state: str = "") -> Select:
    m = aliased(Member)
    stmt = (select(RosterEntry).outerjoin(m, m.id == RosterEntry.member_id)
            .where(RosterEntry.unit_id == unit.id)
            .options(joinedload(RosterEntry.member), joinedload(RosterEntry.community)))
    if state == "unregistered":
        stmt = stmt.where(RosterEntry.member_id.is_(None))
    elif state in ("approved", "pending"):
        stmt = stmt.where(m.status == state)
    elif state == "other":
        stmt = stmt.where(m.status.in_([MemberStatus.REJECTED.value, MemberStatus.INACTIVE.value]))
    return stmt.order_by(RosterEntry.name, RosterEntry.id)


def roster_counts(unit: OrgNode) -> dict[str, int]:
    counts = dict.fromkeys(ROSTER_STATES, 0)
    rows = db.session.execute(
        select(Member.status, func.count(RosterEntry.id))
        .select_from(RosterEntry).outerjoin(Member, Member.id == RosterEntry.member_id)
        .where(RosterEntry.unit_id == unit.id).group_by(Member.status)).all()
    for status, n in rows:
        if status is None:
            counts["unregistered"] += n
        elif status in ("approved", "pending"):
            counts[status] += n
        else:
            counts["other"] += n
    return counts


def unregistered(unit: OrgNode) -> list[RosterEntry]:
    return list(db.session.execute(roster(unit, "unregistered")).scalars().unique())


def entries_of(unit: OrgNode, ids: list[int]) -> list[RosterEntry]:
    if not ids:
        return []
    return list(db.session.execute(select(RosterEntry).where(
        RosterEntry.unit_id == unit.id, RosterEntry.id.in_(ids))).scalars())


# --- agreements ----------------------------------------------------------------------------------


def agreements_for(user, status: str = "") -> Select:
    """Agreements the user is party to: their units' (liaison) and those of the communities and
    streets they manage (a street admin: the street's and its communities'). Nothing else."""
    unit_ids = [n.id for n in user.role_nodes(Role.UNIT_LIAISON)]
    managed = user.role_nodes(*MANAGING_ROLES)
    org = aliased(OrgNode)
    conds = []
    if unit_ids:
        conds.append(Agreement.unit_id.in_(unit_ids))
    conds += [org.path.startswith(n.path, autoescape=True) for n in managed]
    stmt = (select(Agreement).join(org, org.id == Agreement.org_id)
            .options(joinedload(Agreement.unit), joinedload(Agreement.org)))
    stmt = stmt.where(or_(*conds)) if conds else stmt.where(Agreement.id.is_(None))
    if status in AgreementStatus.__members__.values():
        stmt = stmt.where(Agreement.status == status)
    return stmt.order_by(Agreement.starts_on.desc(), Agreement.id.desc())


def agreement_parties(user) -> tuple[list[OrgNode], list[OrgNode]]:
    """(units, communities and streets) the user may draft an agreement between: a liaison
    for their unit with any street or community; staff for their communities (and street) with
    any unit."""
    targets = members_queries.report_targets()
    units = {u.id: u for u in members_queries.liaison_units(user)}
    orgs = {}
    if units:
        orgs.update((n.id, n) for n in targets)
    if user.is_staff:
        roots = user.scope_roots()
        units.update((u.id, u) for u in members_queries.active_units())
        if not orgs:
            orgs.update((n.id, n) for n in targets if any(n.is_within(r) for r in roots))
    return (sorted(units.values(), key=lambda u: u.name),
            sorted(orgs.values(), key=lambda n: n.path))


@dataclasses.dataclass(frozen=True)
class ItemProgress:
    item: Commitment
    done: int
    #: Done ÷ target, capped at 1 (doing more of one item does not make up for another).
    ratio: float

    @property
    def met(self) -> bool:
        return self.done >= self.item.target

    @property
    def percent(self) -> int:
        return int(self.ratio * 100)


@dataclasses.dataclass(frozen=True)
class Progress:
    items: list[ItemProgress]

    @property
    def ratio(self) -> float:
        """The mean of the items' capped ratios: two commitments, one met and one not started,
        is 50%."""
        if not self.items:
            return 0.0
        return sum(i.ratio for i in self.items) / len(self.items)

    @property
    def percent(self) -> int:
        return int(self.ratio * 100)

    @property
    def met(self) -> int:
        return sum(1 for i in self.items if i.met)


def progress(agreement: Agreement) -> Progress:
    done = dict(db.session.execute(
        select(Fulfilment.item_id, func.sum(Fulfilment.amount))
        .join(Commitment, Commitment.id == Fulfilment.item_id)
        .where(Commitment.agreement_id == agreement.id).group_by(Fulfilment.item_id)).all())
    items = []
    for item in agreement.items:
        d = int(done.get(item.id) or 0)
        items.append(ItemProgress(item, d, min(d / item.target, 1.0)))
    return Progress(items)


def progress_many(agreements: list[Agreement]) -> dict[int, Progress]:
    return {a.id: progress(a) for a in agreements}


def linked_posts_and_projects(agreement: Agreement) -> tuple[list, list]:
    """Posts and projects of the agreement's community (or street) to link fulfilment to."""
    from timebank.lists.models import Project
    from timebank.posts.models import Post

    community_ids = select(OrgNode.id).where(
        OrgNode.path.startswith(agreement.org.path, autoescape=True),
        OrgNode.kind == OrgKind.COMMUNITY.value)
    posts = list(db.session.execute(select(Post).where(Post.community_id.in_(community_ids))
                                    .order_by(Post.id.desc()).limit(50)).scalars())
    projects = list(db.session.execute(select(Project).where(
        Project.community_id.in_(community_ids)).order_by(Project.id.desc()).limit(50)).scalars())
    return posts, projects


def report_rate_basis(scope) -> str:
    """Which definition ``measures.roster_report_rate`` uses for ``scope``: "roster" (approved ÷
    roster) once a roster covers it, else "registered" (已报到 ÷ 注册党员), for the dashboard
    to say so."""
    from timebank import measures

    return "roster" if measures.roster_size(scope) else "registered"
