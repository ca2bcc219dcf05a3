"""Writes on the three lists. Every function takes the acting user (None = the system: CLI,
scheduled jobs, demo data), validates, changes rows and flushes; the caller commits once.

Status changes go through :func:`_move_demand` / :func:`_move_project`, which refuse anything the
transition tables in ``models`` do not allow (``BadTransition``). A project drives its demands:
attaching a demand makes it matched, starting the project puts it in progress, completing it
makes it done, and cancelling the project reopens it for another match.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from timebank.accounts.models import Role
from timebank.audit import operations as audit
from timebank.core import clock
from timebank.core.errors import Forbidden, Invalid
from timebank.extensions import db
from timebank.lists.errors import AlreadyOwner, BadTransition, ProjectClosed, ResourceUsedUp
from timebank.lists.models import (AREA_KINDS, DEMAND_TRANSITIONS, PROJECT_TRANSITIONS, Demand,
                                   DemandStatus, Project, ProjectNote, ProjectOwner, ProjectPost,
                                   ProjectResource, ProjectStatus, Resource, ResourceKind,
                                   ResourceStatus)
from timebank.members.models import Member, Skill
from timebank.orgs.models import OrgKind, OrgNode
from timebank.catalogue.models import PostCategory

MAX_PEOPLE = 1000
MAX_QUANTITY = 10_000_000
MAX_NOTE = 2000
#: Demand kinds whose quantity counts people (an assignment takes as many as the demand needs).
PEOPLE_KINDS = (ResourceKind.VOLUNTEERS, ResourceKind.EXPERTISE)


def _check(allowed: bool) -> None:
    if not allowed:
        raise Forbidden()


def _text(value: str | None, field: str, max_len: int, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise Invalid(_l("This field is required."), field=field)
    if len(value) > max_len:
        raise Invalid(_l("At most %(n)d characters.", n=max_len), field=field)
    return value


def _skills(skill_ids: Iterable[int], field: str = "skill_ids") -> list[Skill]:
    ids = sorted({int(i) for i in skill_ids or ()})
    if not ids:
        return []
    skills = list(db.session.execute(select(Skill).where(
        Skill.id.in_(ids), Skill.active.is_(True))).scalars())
    if len(skills) != len(ids):
        raise Invalid(_l("Choose skills from the list."), field=field)
    return skills


def _window(start: dt.date | None, end: dt.date | None, field: str) -> None:
    if start is not None and end is not None and end < start:
        raise Invalid(_l("The end of the period is before its start."), field=field)


# --- demands -----------------------------------------------------------------------------------


@dataclasses.dataclass
class DemandData:
    community: OrgNode
    category: PostCategory
    title: str
    grid: OrgNode | None = None
    need_kind: str = ResourceKind.VOLUNTEERS.value
    description: str = ""
    resident_name: str = ""
    is_wish: bool = False
    skill_ids: Iterable[int] = ()
    people_needed: int = 1
    minutes_needed: int | None = None
    window_start: dt.date | None = None
    window_end: dt.date | None = None
    urgency: int = 1
    deadline: dt.date | None = None


def _clean_demand(data: DemandData) -> tuple[DemandData, list[Skill]]:
    if data.community is None or data.community.kind != OrgKind.COMMUNITY:
        raise Invalid(_l("Choose a community."), field="community_id")
    if data.grid is not None and data.grid.parent_id != data.community.id:
        raise Invalid(_l("The grid is not in this community."), field="grid_id")
    if data.category is None:
        raise Invalid(_l("Choose a category."), field="category_id")
    if data.need_kind not in set(ResourceKind):
        raise Invalid(_l("Choose what is needed from the list."), field="need_kind")
    if not 1 <= int(data.people_needed or 0) <= MAX_PEOPLE:
        raise Invalid(_l("Between 1 and %(n)d people.", n=MAX_PEOPLE), field="people_needed")
    if data.minutes_needed is not None and not 0 < data.minutes_needed <= 100_000 * 60:
        raise Invalid(_l("Give a positive number of hours."), field="hours_needed")
    if data.urgency not in (1, 2, 3):
        raise Invalid(_l("Choose the urgency from the list."), field="urgency")
    _window(data.window_start, data.window_end, "window_end")
    skills = _skills(data.skill_ids)
    clean = dataclasses.replace(
        data, title=_text(data.title, "title", 100, required=True),
        description=_text(data.description, "description", 5000),
        resident_name=_text(data.resident_name, "resident_name", 50),
        people_needed=int(data.people_needed))
    return clean, skills


def create_demand(actor, data: DemandData) -> Demand:
    """Publish a need on the community's demand list (staff, also for a resident)."""
    _check(actor is None or (data.community is not None and data.community.can_manage(actor)))
    data, skills = _clean_demand(data)
    now = clock.now()
    demand = Demand(
        community=data.community, community_id=data.community.id, grid=data.grid,
        grid_id=data.grid.id if data.grid else None, category=data.category,
        category_id=data.category.id, need_kind=data.need_kind, title=data.title,
        description=data.description, resident_name=data.resident_name,
        is_wish=bool(data.is_wish), people_needed=data.people_needed,
        minutes_needed=data.minutes_needed, window_start=data.window_start,
        window_end=data.window_end, urgency=data.urgency, deadline=data.deadline,
        status=DemandStatus.OPEN.value, created_by_id=actor.id if actor else None,
        created_at=now)
    demand.skills = skills
    db.session.add(demand)
    db.session.flush()
    audit.record(actor, "demand.create", "demand", demand.id, title=demand.title)
    return demand


def update_demand(actor, demand: Demand, data: DemandData) -> None:
    """Edit an open (or matched) demand; its community stays."""
    _check(actor is None or demand.can_manage(actor))
    if demand.status not in (DemandStatus.OPEN, DemandStatus.MATCHED):
        raise BadTransition(_l("Only an open or matched demand can be edited."))
    data = dataclasses.replace(data, community=demand.community)
    data, skills = _clean_demand(data)
    for name in ("need_kind", "title", "description", "resident_name", "people_needed",
                 "minutes_needed", "window_start", "window_end", "urgency", "deadline"):
        setattr(demand, name, getattr(data, name))
    demand.is_wish = bool(data.is_wish)
    demand.grid, demand.grid_id = data.grid, data.grid.id if data.grid else None
    demand.category, demand.category_id = data.category, data.category.id
    demand.skills = skills
    demand.updated_at = clock.now()
    db.session.flush()
    audit.record(actor, "demand.update", "demand", demand.id)


def _move_demand(demand: Demand, new: DemandStatus) -> None:
    """The one place a demand's status changes; refuses what the transition table forbids.
    Conditional on the status read, so two parallel changes cannot both apply."""
    old = demand.status_enum
    if new not in DEMAND_TRANSITIONS[old]:
        raise BadTransition()
    changed = db.session.execute(
        update(Demand).where(Demand.id == demand.id, Demand.status == old.value)
        .values(status=new.value, updated_at=clock.now())
        .execution_options(synchronize_session=False)).rowcount
    db.session.expire(demand, ["status", "updated_at"])
    if changed != 1:
        raise BadTransition()


def withdraw_demand(actor, demand: Demand, reason: str = "") -> None:
    _check(actor is None or demand.can_manage(actor))
    if demand.project_id is not None and demand.status == DemandStatus.MATCHED:
        demand.project_id = None
    _move_demand(demand, DemandStatus.WITHDRAWN)
    db.session.flush()
    audit.record(actor, "demand.withdraw", "demand", demand.id, reason=(reason or "")[:500])


# --- resources ---------------------------------------------------------------------------------


@dataclasses.dataclass
class ResourceData:
    kind: str
    title: str
    area: OrgNode | None = None
    description: str = ""
    category: PostCategory | None = None
    skill_ids: Iterable[int] = ()
    quantity: int = 1
    available_from: dt.date | None = None
    available_until: dt.date | None = None


def _clean_resource(data: ResourceData) -> tuple[ResourceData, list[Skill]]:
    if data.kind not in set(ResourceKind):
        raise Invalid(_l("Choose the kind of resource from the list."), field="kind")
    if data.area is None or data.area.kind not in AREA_KINDS or not data.area.active:
        raise Invalid(_l("Choose the area served from the list."), field="area_id")
    if not 1 <= int(data.quantity or 0) <= MAX_QUANTITY:
        raise Invalid(_l("Give a quantity of at least 1."), field="quantity")
    _window(data.available_from, data.available_until, "available_until")
    skills = _skills(data.skill_ids)
    return dataclasses.replace(
        data, title=_text(data.title, "title", 100, required=True),
        description=_text(data.description, "description", 5000),
        quantity=int(data.quantity)), skills


def can_offer_for_unit(user, unit: OrgNode) -> bool:
    return unit.kind == OrgKind.UNIT and user.has_role(Role.UNIT_LIAISON, unit)


def create_resource(actor, data: ResourceData, *, unit: OrgNode | None = None,
                    member: Member | None = None) -> Resource:
    """Offer a resource: a unit's (by its liaison) or a member's own."""
    if (unit is None) == (member is None):
        raise Invalid(_l("A resource is offered by a unit or by a member."), field="owner")
    if unit is not None:
        _check(actor is None or can_offer_for_unit(actor, unit))
    else:
        _check(actor is None or actor.id == member.user_id)
        if not member.is_approved:
            raise Forbidden(_l("Only approved members may offer resources."))
        if data.area is None:
            data = dataclasses.replace(data, area=member.community)
    data, skills = _clean_resource(data)
    resource = Resource(
        kind=data.kind, unit=unit, unit_id=unit.id if unit else None, member=member,
        member_id=member.id if member else None, title=data.title,
        description=data.description, category=data.category,
        category_id=data.category.id if data.category else None, quantity=data.quantity,
        area=data.area, area_id=data.area.id, available_from=data.available_from,
        available_until=data.available_until, status=ResourceStatus.ACTIVE.value,
        created_by_id=actor.id if actor else None, created_at=clock.now())
    resource.skills = skills
    db.session.add(resource)
    db.session.flush()
    audit.record(actor, "resource.create", "resource", resource.id, title=resource.title)
    return resource


def update_resource(actor, resource: Resource, data: ResourceData) -> None:
    _check(actor is None or resource.can_edit(actor))
    if resource.status != ResourceStatus.ACTIVE:
        raise BadTransition(_l("A withdrawn resource cannot be edited."))
    data, skills = _clean_resource(data)
    if data.quantity < allocated(resource):
        raise Invalid(_l("Projects already use %(n)d of it.", n=allocated(resource)),
                      field="quantity")
    for name in ("kind", "title", "description", "quantity", "available_from",
                 "available_until"):
        setattr(resource, name, getattr(data, name))
    resource.area, resource.area_id = data.area, data.area.id
    resource.category = data.category
    resource.category_id = data.category.id if data.category else None
    resource.skills = skills
    resource.updated_at = clock.now()
    db.session.flush()
    audit.record(actor, "resource.update", "resource", resource.id)


def withdraw_resource(actor, resource: Resource) -> None:
    """No longer on offer; projects it already serves keep it."""
    _check(actor is None or resource.can_edit(actor))
    if resource.status != ResourceStatus.ACTIVE:
        raise BadTransition()
    resource.status = ResourceStatus.WITHDRAWN.value
    resource.updated_at = clock.now()
    db.session.flush()
    audit.record(actor, "resource.withdraw", "resource", resource.id)


def allocated(resource: Resource) -> int:
    """How much of the resource live projects use."""
    return db.session.execute(
        select(func.coalesce(func.sum(ProjectResource.quantity), 0))
        .join(Project, Project.id == ProjectResource.project_id)
        .where(ProjectResource.resource_id == resource.id,
               Project.status.in_([ProjectStatus.OPEN.value, ProjectStatus.IN_PROGRESS.value]))
    ).scalar_one()


# --- projects ----------------------------------------------------------------------------------


def _move_project(project: Project, new: ProjectStatus) -> None:
    old = project.status_enum
    if new not in PROJECT_TRANSITIONS[old]:
        raise BadTransition()
    changed = db.session.execute(
        update(Project).where(Project.id == project.id, Project.status == old.value)
        .values(status=new.value).execution_options(synchronize_session=False)).rowcount
    db.session.expire(project, ["status"])
    if changed != 1:
        raise BadTransition()


def _check_live(project: Project) -> None:
    if not project.is_live:
        raise ProjectClosed()


def create_project(actor, community: OrgNode, title: str, description: str = "",
                   category: PostCategory | None = None, demands: Iterable[Demand] = (),
                   resources: Iterable[Resource] = ()) -> Project:
    """A project of ``community`` formed from open demands (they become matched) and
    resources."""
    if community is None or community.kind != OrgKind.COMMUNITY:
        raise Invalid(_l("Choose a community."), field="community_id")
    _check(actor is None or community.can_manage(actor))
    project = Project(community=community, community_id=community.id,
                      title=_text(title, "title", 100, required=True),
                      description=_text(description, "description", 5000),
                      category=category, category_id=category.id if category else None,
                      status=ProjectStatus.OPEN.value,
                      created_by_id=actor.id if actor else None, created_at=clock.now())
    db.session.add(project)
    db.session.flush()
    audit.record(actor, "project.create", "project", project.id, title=project.title)
    for demand in demands:
        attach_demand(actor, project, demand)
    for resource in resources:
        assign_resource(actor, project, resource)
    return project


def attach_demand(actor, project: Project, demand: Demand) -> None:
    """An open demand joins the project and is matched."""
    _check(actor is None or (project.can_manage(actor) and demand.can_manage(actor)))
    _check_live(project)
    if demand.status != DemandStatus.OPEN:
        raise BadTransition(_l("Only an open demand can join a project."))
    _move_demand(demand, DemandStatus.MATCHED)
    demand.project_id = project.id
    if project.status == ProjectStatus.IN_PROGRESS:
        _move_demand(demand, DemandStatus.IN_PROGRESS)
    db.session.flush()
    db.session.expire(project, ["demands"])
    audit.record(actor, "project.attach_demand", "project", project.id, demand=demand.id)


def assign_resource(actor, project: Project, resource: Resource,
                    quantity: int | None = None) -> ProjectResource:
    """Put (more of) a resource on the project. ``quantity`` defaults to what the project's
    demands need of people (capped by what is left), else 1."""
    _check(actor is None or project.can_manage(actor))
    _check_live(project)
    if resource.status != ResourceStatus.ACTIVE:
        raise ResourceUsedUp(_l("This resource is no longer on offer."))
    left = resource.quantity - allocated(resource)
    if quantity is None:
        quantity = 1
        if resource.kind_enum in PEOPLE_KINDS:
            quantity = max(1, sum(d.people_needed for d in project.demands
                                  if d.need_kind == resource.kind))
        quantity = min(quantity, left)
    if quantity < 1 or quantity > left:
        raise ResourceUsedUp()
    row = db.session.get(ProjectResource, (project.id, resource.id))
    if row is None:
        row = ProjectResource(project_id=project.id, resource_id=resource.id, quantity=quantity,
                              added_by_id=actor.id if actor else None, added_at=clock.now())
        db.session.add(row)
    else:
        row.quantity += quantity
    db.session.flush()
    db.session.expire(project, ["resources"])
    audit.record(actor, "project.assign_resource", "project", project.id,
                 resource=resource.id, quantity=quantity)
    return row


def assign_to_demand(actor, demand: Demand, resource: Resource) -> Project:
    """The matcher's accepted pairing: the demand's project (made from the demand when it has
    none) gets the resource. Returns the project."""
    _check(actor is None or demand.can_manage(actor))
    project = demand.project
    if project is None:
        if demand.status != DemandStatus.OPEN:
            raise BadTransition(_l("Only an open demand can be matched."))
        project = create_project(actor, demand.community, demand.title, demand.description,
                                 demand.category, demands=[demand])
    assign_resource(actor, project, resource)
    return project


def _owner_kwargs(actor, unit: OrgNode | None, member: Member | None) -> dict:
    if (unit is None) == (member is None):
        raise Invalid(_l("A project is claimed by a unit or by a member."), field="owner")
    if unit is not None:
        _check(actor is None or can_offer_for_unit(actor, unit))
        return {"unit_id": unit.id}
    _check(actor is None or actor.id == member.user_id)
    if not member.is_approved:
        raise Forbidden(_l("Only approved members may claim projects."))
    return {"member_id": member.id}


def claim_project(actor, project: Project, *, unit: OrgNode | None = None,
                  member: Member | None = None) -> ProjectOwner:
    """项目认领: a unit (through its liaison) or a member takes on the project."""
    owner = _owner_kwargs(actor, unit, member)
    _check_live(project)
    column, value = next(iter(owner.items()))
    exists = db.session.execute(select(ProjectOwner.id).where(
        ProjectOwner.project_id == project.id,
        getattr(ProjectOwner, column) == value)).first()
    if exists:
        raise AlreadyOwner()
    row = ProjectOwner(project_id=project.id, claimed_by_id=actor.id if actor else None,
                       claimed_at=clock.now(), **owner)
    db.session.add(row)
    db.session.flush()
    db.session.expire(project, ["owners"])
    audit.record(actor, "project.claim", "project", project.id, **owner)
    return row


def is_owner(user, project: Project) -> bool:
    if not user.is_authenticated:
        return False
    for o in project.owners:
        if o.member is not None and o.member.user_id == user.id:
            return True
        if o.unit is not None and user.has_role(Role.UNIT_LIAISON, o.unit):
            return True
    return False


def can_note(user, project: Project) -> bool:
    return project.can_manage(user) or is_owner(user, project)


def add_note(actor, project: Project, body: str) -> ProjectNote:
    """A progress note, by staff or an owner."""
    _check(actor is None or can_note(actor, project))
    _check_live(project)
    note = ProjectNote(project_id=project.id, author_id=actor.id if actor else None,
                       body=_text(body, "body", MAX_NOTE, required=True), created_at=clock.now())
    db.session.add(note)
    db.session.flush()
    db.session.expire(project, ["notes"])
    return note


def start_project(actor, project: Project) -> None:
    """Work begins: needs an owner; the project's demands are in progress."""
    _check(actor is None or project.can_manage(actor))
    if project.status == ProjectStatus.OPEN and not project.owners:
        raise BadTransition(_l("A project starts once a unit or member has claimed it."))
    _move_project(project, ProjectStatus.IN_PROGRESS)
    project.started_at = clock.now()
    for demand in project.demands:
        if demand.status == DemandStatus.MATCHED:
            _move_demand(demand, DemandStatus.IN_PROGRESS)
    db.session.flush()
    audit.record(actor, "project.start", "project", project.id)


def complete_project(actor, project: Project, outcome: str = "") -> None:
    _check(actor is None or project.can_manage(actor))
    _move_project(project, ProjectStatus.DONE)
    project.closed_at = clock.now()
    project.outcome = _text(outcome, "outcome", 5000)
    for demand in project.demands:
        if demand.status == DemandStatus.IN_PROGRESS:
            _move_demand(demand, DemandStatus.DONE)
    db.session.flush()
    audit.record(actor, "project.complete", "project", project.id)


def cancel_project(actor, project: Project, reason: str = "") -> None:
    """Call the project off: its unfinished demands go back on the list, open for a match."""
    _check(actor is None or project.can_manage(actor))
    _move_project(project, ProjectStatus.CANCELLED)
    project.closed_at = clock.now()
    project.outcome = _text(reason, "reason", 5000)
    for demand in list(project.demands):
        if demand.status in (DemandStatus.MATCHED, DemandStatus.IN_PROGRESS):
            _move_demand(demand, DemandStatus.OPEN)
            demand.project_id = None
    db.session.flush()
    db.session.expire(project, ["demands"])
    audit.record(actor, "project.cancel", "project", project.id)


def generate_post(actor, project: Project, data, publish: bool = True):
    """A post (with its sessions) for the project, made by the posts package; ``data`` is a
    ``posts.operations.PostData``. Returns the post."""
    from timebank.posts import operations as posts

    _check(actor is None or project.can_manage(actor))
    _check_live(project)
    post = posts.create_post(actor, project.community, data)
    if publish:
        posts.publish(actor, post)
    db.session.add(ProjectPost(project_id=project.id, post_id=post.id, created_at=clock.now()))
    db.session.flush()
    audit.record(actor, "project.generate_post", "project", project.id, post=post.id)
    return post
