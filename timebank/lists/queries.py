"""Reads of the three lists: pages (scoped by who asks) and plain facts for the matcher."""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import Select, func, literal, or_, select

from timebank.accounts.models import Role, User
from timebank.core.web import db_int
from timebank.extensions import db
from timebank.lists.models import (Demand, DemandStatus, Project, ProjectOwner, ProjectPost,
                                   ProjectResource, ProjectStatus, Resource, ResourceStatus,
                                   demand_skills, resource_skills)
from timebank.members.models import Member, MemberStatus
from timebank.orgs.models import OrgKind, OrgNode

LIVE_PROJECT = (ProjectStatus.OPEN.value, ProjectStatus.IN_PROGRESS.value)


def scope_community_ids(user) -> Select:
    """Ids of the communities a staff user manages, for ``IN``."""
    roots = user.scope_roots()
    if not roots:
        return select(OrgNode.id).where(literal(False))
    return select(OrgNode.id).where(OrgNode.kind == OrgKind.COMMUNITY.value,
                                    or_(*[OrgNode.path.like(f"{r.path}%") for r in roots]))


def managed_communities(user) -> list[OrgNode]:
    return list(db.session.execute(
        select(OrgNode).where(OrgNode.id.in_(scope_community_ids(user)),
                              OrgNode.active.is_(True)).order_by(OrgNode.path)).scalars())


def member_of(user) -> Member | None:
    if not user.is_authenticated:
        return None
    return db.session.execute(select(Member).where(Member.user_id == user.id)
                              ).scalar_one_or_none()


def liaison_units(user) -> list[OrgNode]:
    return sorted((u for u in user.role_nodes(Role.UNIT_LIAISON) if u.kind == OrgKind.UNIT),
                  key=lambda u: u.name)


# --- pages -------------------------------------------------------------------------------------


@dataclasses.dataclass
class ListFilter:
    status: str = ""
    community_id: int | None = None
    q: str = ""
    mine: bool = False

    @classmethod
    def from_args(cls, args, statuses) -> ListFilter:
        status = args.get("status", "")
        community = args.get("community", type=db_int)
        return cls(status=status if status in set(statuses) else "",
                   community_id=community if community and community > 0 else None,
                   q=(args.get("q") or "").strip()[:50], mine=args.get("mine") == "1")

    def as_args(self) -> dict:
        pairs = {"status": self.status, "community": self.community_id, "q": self.q,
                 "mine": "1" if self.mine else ""}
        return {k: v for k, v in pairs.items() if v}


def _like(column, q: str):
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"%{escaped}%", escape="\\")


def demands(user, f: ListFilter) -> Select:
    """Staff see their communities' demands in every status ("mine"); everyone sees the
    published list (not withdrawn) of the district."""
    stmt = select(Demand)
    if f.mine and user.is_staff:
        stmt = stmt.where(Demand.community_id.in_(scope_community_ids(user)))
    else:
        stmt = stmt.where(Demand.status != DemandStatus.WITHDRAWN.value)
    if f.status:
        stmt = stmt.where(Demand.status == f.status)
    if f.community_id:
        stmt = stmt.where(Demand.community_id == f.community_id)
    if f.q:
        stmt = stmt.where(_like(Demand.title, f.q))
    return stmt.order_by(Demand.urgency.desc(), Demand.created_at.desc(), Demand.id.desc())


def resources(user, f: ListFilter) -> Select:
    """Active resources of the district; "mine" = the ones the user offers (their units' or
    their own) in any status."""
    stmt = select(Resource)
    if f.mine:
        units = [u.id for u in liaison_units(user)]
        member = member_of(user)
        conds = []
        if units:
            conds.append(Resource.unit_id.in_(units))
        if member is not None:
            conds.append(Resource.member_id == member.id)
        stmt = stmt.where(or_(*conds) if conds else literal(False))
    else:
        stmt = stmt.where(Resource.status == ResourceStatus.ACTIVE.value)
    if f.status:
        stmt = stmt.where(Resource.kind == f.status)
    if f.q:
        stmt = stmt.where(_like(Resource.title, f.q))
    return stmt.order_by(Resource.created_at.desc(), Resource.id.desc())


def projects(user, f: ListFilter) -> Select:
    """Every project of the district (anyone may claim an open one); "mine" = the projects of
    the staff's communities, or the ones the user (or their unit) claimed."""
    stmt = select(Project)
    if f.mine:
        conds = []
        if user.is_staff:
            conds.append(Project.community_id.in_(scope_community_ids(user)))
        owned = owned_project_ids(user)
        if owned is not None:
            conds.append(Project.id.in_(owned))
        stmt = stmt.where(or_(*conds) if conds else literal(False))
    if f.status:
        stmt = stmt.where(Project.status == f.status)
    if f.community_id:
        stmt = stmt.where(Project.community_id == f.community_id)
    if f.q:
        stmt = stmt.where(_like(Project.title, f.q))
    return stmt.order_by(Project.created_at.desc(), Project.id.desc())


def owned_project_ids(user) -> Select | None:
    units = [u.id for u in liaison_units(user)]
    member = member_of(user)
    conds = []
    if units:
        conds.append(ProjectOwner.unit_id.in_(units))
    if member is not None:
        conds.append(ProjectOwner.member_id == member.id)
    if not conds:
        return None
    return select(ProjectOwner.project_id).where(or_(*conds))


def open_demands_for_project(project: Project, user) -> list[Demand]:
    """Open demands the user may attach to ``project`` (of communities they manage)."""
    return list(db.session.execute(
        select(Demand).where(Demand.status == DemandStatus.OPEN.value,
                             Demand.community_id.in_(scope_community_ids(user)))
        .order_by(Demand.urgency.desc(), Demand.id.desc()).limit(200)).scalars())


def assignable_resources(project: Project) -> list[Resource]:
    used = select(ProjectResource.resource_id).where(ProjectResource.project_id == project.id)
    return list(db.session.execute(
        select(Resource).where(Resource.status == ResourceStatus.ACTIVE.value,
                               Resource.id.not_in(used))
        .order_by(Resource.created_at.desc()).limit(200)).scalars())


def project_posts(project: Project):
    from timebank.posts.models import Post

    return list(db.session.execute(
        select(Post).join(ProjectPost, ProjectPost.post_id == Post.id)
        .where(ProjectPost.project_id == project.id).order_by(Post.created_at)).scalars())


def allocations(resource: Resource) -> list[ProjectResource]:
    return list(db.session.execute(
        select(ProjectResource).where(ProjectResource.resource_id == resource.id)
        .order_by(ProjectResource.added_at)).scalars())


# --- facts for the matcher -----------------------------------------------------------------------


def open_demand_facts(community_ids: set[int] | None, demand_ids: Iterable[int] | None,
                      today: dt.date) -> list[dict]:
    """Open demands (deadline not passed) as plain dicts, with their required skill ids."""
    stmt = select(Demand.id, Demand.community_id, Demand.grid_id, Demand.need_kind,
                  Demand.category_id, Demand.window_start, Demand.window_end, Demand.urgency,
                  Demand.people_needed).where(
        Demand.status == DemandStatus.OPEN.value,
        or_(Demand.deadline.is_(None), Demand.deadline >= today),
        or_(Demand.window_end.is_(None), Demand.window_end >= today))
    if community_ids is not None:
        stmt = stmt.where(Demand.community_id.in_(sorted(community_ids)))
    if demand_ids is not None:
        stmt = stmt.where(Demand.id.in_(list(demand_ids)))
    rows = db.session.execute(stmt).all()
    if not rows:
        return []
    skills: dict[int, list[int]] = defaultdict(list)
    ids = [r.id for r in rows]
    for start in range(0, len(ids), 5000):
        for did, sid in db.session.execute(
                select(demand_skills.c.demand_id, demand_skills.c.skill_id)
                .where(demand_skills.c.demand_id.in_(ids[start:start + 5000]))):
            skills[did].append(sid)
    return [{**r._asdict(), "skill_ids": skills.get(r.id, [])} for r in rows]


def active_resource_facts(today: dt.date) -> list[dict]:
    """Resources on offer (owner still active, not past their dates) with what is left of them,
    their tags, their area's kind, the offering member's grid and the owner's live projects."""
    area = OrgNode.__table__.alias("area")
    rows = db.session.execute(
        select(Resource.id, Resource.kind, Resource.unit_id, Resource.member_id,
               Resource.category_id, Resource.quantity, Resource.area_id,
               Resource.available_from, Resource.available_until,
               area.c.kind.label("area_kind"), Member.grid_id, Member.status.label("m_status"),
               area.c.active.label("area_active"))
        .join(area, area.c.id == Resource.area_id)
        .outerjoin(Member, Member.id == Resource.member_id)
        .where(Resource.status == ResourceStatus.ACTIVE.value,
               or_(Resource.available_until.is_(None), Resource.available_until >= today))
    ).all()
    if not rows:
        return []
    inactive_units = set(db.session.execute(select(OrgNode.id).where(
        OrgNode.kind == OrgKind.UNIT.value, OrgNode.active.is_(False))).scalars())
    inactive_users = set(db.session.execute(
        select(Member.id).join(User, User.id == Member.user_id)
        .where(User.active.is_(False))).scalars())
    used: dict[int, int] = dict(db.session.execute(
        select(ProjectResource.resource_id, func.sum(ProjectResource.quantity))
        .join(Project, Project.id == ProjectResource.project_id)
        .where(Project.status.in_(LIVE_PROJECT)).group_by(ProjectResource.resource_id)).all())
    # Live projects per owner (unit or member), through their resources or as claimed owners.
    load: dict[tuple[str, int], int] = defaultdict(int)
    for unit_id, member_id, n in db.session.execute(
            select(Resource.unit_id, Resource.member_id, func.count())
            .join(ProjectResource, ProjectResource.resource_id == Resource.id)
            .join(Project, Project.id == ProjectResource.project_id)
            .where(Project.status.in_(LIVE_PROJECT))
            .group_by(Resource.unit_id, Resource.member_id)):
        load[("u", unit_id) if unit_id else ("m", member_id)] += n
    tags: dict[int, list[int]] = defaultdict(list)
    for rid, sid in db.session.execute(select(resource_skills.c.resource_id,
                                              resource_skills.c.skill_id)):
        tags[rid].append(sid)
    out = []
    for r in rows:
        if not r.area_active or (r.unit_id and r.unit_id in inactive_units):
            continue
        if r.member_id and (r.m_status != MemberStatus.APPROVED or r.member_id in inactive_users):
            continue
        remaining = r.quantity - int(used.get(r.id, 0))
        if remaining <= 0:
            continue
        owner = ("u", r.unit_id) if r.unit_id else ("m", r.member_id)
        out.append({"id": r.id, "kind": r.kind, "area_kind": r.area_kind, "area_id": r.area_id,
                    "skill_ids": tags.get(r.id, []), "category_id": r.category_id,
                    "available_from": r.available_from, "available_until": r.available_until,
                    "remaining": remaining, "grid_id": r.grid_id if r.member_id else None,
                    "assignments": load.get(owner, 0)})
    return out
