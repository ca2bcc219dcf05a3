"""The three lists' pages: demands (staff publish), resources (liaisons and members offer),
projects (staff form them, units and members claim them)."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from timebank.core import clock, nav
from timebank.core.access import get_or_404, require
from timebank.core.errors import DomainError
from timebank.core.web import db_int, page_arg
from timebank.extensions import db
from timebank.lists import operations, queries
from timebank.lists.forms import (AssignResourceForm, AttachDemandForm, ClaimForm, DemandForm,
                                  NoteForm, ProjectForm, ProjectStatusForm, ResourceForm)
from timebank.lists.models import (AREA_KINDS, Demand, DemandStatus, Project, ProjectStatus,
                                   Resource, ResourceKind, ResourceStatus)
from timebank.members.models import Member
from timebank.orgs.models import OrgNode
from timebank.posts import queries as post_queries
from timebank.catalogue.models import PostCategory

bp = Blueprint("lists", __name__, url_prefix="/lists")
ID = "int(min=1, max=2147483647)"

nav.register(_l("Three lists"), "lists.demands", lambda u: u.is_authenticated, order=40)


def _page() -> int:
    return page_arg()


def _paginate(stmt):
    return db.paginate(stmt, page=_page(), per_page=current_app.config["PAGE_SIZE"],
                       error_out=False)


def _form_error(form, e: DomainError) -> None:
    db.session.rollback()
    field = getattr(form, e.details.get("field", ""), None)
    if field is None or not hasattr(field, "errors"):
        form.form_errors.append(str(e.message))
    else:
        if not isinstance(field.errors, list):
            field.errors = list(field.errors)
        field.errors.append(str(e.message))


def _act(action, done: str, target: str):
    """Run a write: commit and say ``done``, or roll back and say why; then go to ``target``."""
    try:
        action()
    except DomainError as e:
        db.session.rollback()
        flash(str(e.message), "danger")
    else:
        db.session.commit()
        flash(done, "success")
    return redirect(target)


def _categories() -> list[PostCategory]:
    return list(db.session.execute(select(PostCategory).order_by(PostCategory.position)).scalars())


def _skill_choices():
    from timebank.members.queries import skills

    return [(s.id, s.display_name) for s in skills()]


@bp.route("/")
def index():
    return redirect(url_for("lists.demands"))


# --- demands -----------------------------------------------------------------------------------


@bp.route("/demands")
def demands():
    f = queries.ListFilter.from_args(request.args, DemandStatus)
    page = _paginate(queries.demands(current_user, f))
    return render_template("lists/demands.html", page=page, f=f, statuses=list(DemandStatus),
                           communities=queries.managed_communities(current_user)
                           if current_user.is_staff else [])


def _demand_form_choices(form: DemandForm, communities: list[OrgNode]) -> None:
    from timebank.members.queries import grids_of

    form.community_id.choices = [(c.id, c.full_name) for c in communities]
    form.grid_id.choices = [(0, _("Whole community"))] + [
        (g.id, g.full_name) for g in grids_of([c.id for c in communities])]
    form.category_id.choices = [(c.id, c.display_name) for c in _categories()]
    form.skill_ids.choices = _skill_choices()


def _demand_data(form: DemandForm, community: OrgNode | None) -> operations.DemandData:
    return operations.DemandData(
        community=community, grid=db.session.get(OrgNode, form.grid_id.data)
        if form.grid_id.data else None,
        category=db.session.get(PostCategory, form.category_id.data),
        title=form.title.data, need_kind=form.need_kind.data,
        description=form.description.data or "", resident_name=form.resident_name.data or "",
        is_wish=form.is_wish.data, skill_ids=form.skill_ids.data or [],
        people_needed=form.people_needed.data,
        minutes_needed=form.hours_needed.data * 60 if form.hours_needed.data else None,
        window_start=form.window_start.data, window_end=form.window_end.data,
        urgency=form.urgency.data, deadline=form.deadline.data)


@bp.route("/demands/new", methods=["GET", "POST"])
def new_demand():
    require(current_user.is_staff)
    communities = queries.managed_communities(current_user)
    require(bool(communities))
    form = DemandForm()
    _demand_form_choices(form, communities)
    if form.validate_on_submit():
        # The choices hold only communities in scope: a guessed id fails validation above.
        community = db.session.get(OrgNode, form.community_id.data)
        try:
            demand = operations.create_demand(current_user, _demand_data(form, community))
        except DomainError as e:
            _form_error(form, e)
        else:
            db.session.commit()
            flash(_("Demand published."), "success")
            return redirect(url_for("lists.demand", demand_id=demand.id))
    status = 400 if request.method == "POST" else 200
    return render_template("lists/demand_form.html", form=form, demand=None), status


def _visible_demand(demand_id: int) -> Demand:
    return get_or_404(Demand, demand_id, lambda d: d.can_view(current_user))


def _managed_demand(demand_id: int) -> Demand:
    return get_or_404(Demand, demand_id, lambda d: d.can_manage(current_user))


@bp.route(f"/demands/<{ID}:demand_id>")
def demand(demand_id: int):
    d = _visible_demand(demand_id)
    proposals = []
    if d.can_manage(current_user):
        from timebank.matching.queries import proposals_for_demand

        proposals = proposals_for_demand(d)
    return render_template("lists/demand.html", demand=d, can_manage=d.can_manage(current_user),
                           proposals=proposals)


@bp.route(f"/demands/<{ID}:demand_id>/edit", methods=["GET", "POST"])
def edit_demand(demand_id: int):
    d = _managed_demand(demand_id)
    form = DemandForm(obj=d) if request.method == "GET" else DemandForm()
    if request.method == "GET":
        form.grid_id.data = d.grid_id or 0
        form.skill_ids.data = [s.id for s in d.skills]
        form.hours_needed.data = d.minutes_needed // 60 if d.minutes_needed else None
    _demand_form_choices(form, [d.community])
    if form.validate_on_submit():
        try:
            operations.update_demand(current_user, d, _demand_data(form, d.community))
        except DomainError as e:
            _form_error(form, e)
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("lists.demand", demand_id=d.id))
    status = 400 if request.method == "POST" else 200
    return render_template("lists/demand_form.html", form=form, demand=d), status


@bp.route(f"/demands/<{ID}:demand_id>/withdraw", methods=["POST"])
def withdraw_demand(demand_id: int):
    d = _managed_demand(demand_id)
    return _act(lambda: operations.withdraw_demand(current_user, d, request.form.get("reason", "")),
                _("Demand withdrawn."), url_for("lists.demand", demand_id=d.id))


# --- resources ---------------------------------------------------------------------------------


@bp.route("/resources")
def resources():
    f = queries.ListFilter.from_args(request.args, ResourceKind)
    page = _paginate(queries.resources(current_user, f))
    return render_template("lists/resources.html", page=page, f=f, kinds=list(ResourceKind),
                           can_offer=bool(_owner_choices()))


def _owner_choices() -> list[tuple[str, str]]:
    """Who the user may offer (or claim) as: their units (liaisons), themself (members)."""
    choices = [(f"u{u.id}", u.name) for u in queries.liaison_units(current_user)]
    member = queries.member_of(current_user)
    if member is not None and member.is_approved:
        choices.append((f"m{member.id}", _("Myself (%(name)s)", name=member.name)))
    return choices


def _owner(value: str) -> tuple[OrgNode | None, Member | None]:
    """The unit or member an owner choice names (the choice was validated against
    ``_owner_choices``)."""
    if value.startswith("u"):
        return db.session.get(OrgNode, int(value[1:])), None
    return None, db.session.get(Member, int(value[1:]))


def _area_choices() -> list[tuple[int, str]]:
    nodes = db.session.execute(
        select(OrgNode).where(OrgNode.kind.in_([k.value for k in AREA_KINDS]),
                              OrgNode.active.is_(True)).order_by(OrgNode.path)).scalars()
    return [(n.id, f"{n.org_kind.label} · {n.full_name or n.name}") for n in nodes]


def _resource_form_choices(form: ResourceForm, owners) -> None:
    form.owner.choices = owners
    form.category_id.choices = [(0, _("Any"))] + [(c.id, c.display_name) for c in _categories()]
    form.skill_ids.choices = _skill_choices()
    form.area_id.choices = _area_choices()


def _resource_data(form: ResourceForm) -> operations.ResourceData:
    return operations.ResourceData(
        kind=form.kind.data, title=form.title.data, description=form.description.data or "",
        area=db.session.get(OrgNode, form.area_id.data),
        category=db.session.get(PostCategory, form.category_id.data)
        if form.category_id.data else None,
        skill_ids=form.skill_ids.data or [], quantity=form.quantity.data,
        available_from=form.available_from.data, available_until=form.available_until.data)


@bp.route("/resources/new", methods=["GET", "POST"])
def new_resource():
    owners = _owner_choices()
    require(bool(owners))
    form = ResourceForm()
    _resource_form_choices(form, owners)
    if request.method == "GET":
        member = queries.member_of(current_user)
        if member is not None:
            form.area_id.data = member.community_id
    if form.validate_on_submit():
        unit, member = _owner(form.owner.data)
        try:
            resource = operations.create_resource(current_user, _resource_data(form), unit=unit,
                                                  member=member)
        except DomainError as e:
            _form_error(form, e)
        else:
            db.session.commit()
            flash(_("Resource offered."), "success")
            return redirect(url_for("lists.resource", resource_id=resource.id))
    status = 400 if request.method == "POST" else 200
    return render_template("lists/resource_form.html", form=form, resource=None), status


@bp.route(f"/resources/<{ID}:resource_id>")
def resource(resource_id: int):
    r = get_or_404(Resource, resource_id, lambda r: r.can_view(current_user))
    return render_template("lists/resource.html", resource=r, can_edit=r.can_edit(current_user),
                           allocations=queries.allocations(r),
                           left=r.quantity - operations.allocated(r))


@bp.route(f"/resources/<{ID}:resource_id>/edit", methods=["GET", "POST"])
def edit_resource(resource_id: int):
    r = get_or_404(Resource, resource_id, lambda r: r.can_edit(current_user))
    owner = (f"u{r.unit_id}", r.unit.name) if r.unit_id else (f"m{r.member_id}", r.member.name)
    form = ResourceForm(obj=r) if request.method == "GET" else ResourceForm()
    if request.method == "GET":
        form.owner.data = owner[0]
        form.category_id.data = r.category_id or 0
        form.skill_ids.data = [s.id for s in r.skills]
    _resource_form_choices(form, [owner])
    if form.validate_on_submit():
        try:
            operations.update_resource(current_user, r, _resource_data(form))
        except DomainError as e:
            _form_error(form, e)
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("lists.resource", resource_id=r.id))
    status = 400 if request.method == "POST" else 200
    return render_template("lists/resource_form.html", form=form, resource=r), status


@bp.route(f"/resources/<{ID}:resource_id>/withdraw", methods=["POST"])
def withdraw_resource(resource_id: int):
    r = get_or_404(Resource, resource_id, lambda r: r.can_edit(current_user))
    return _act(lambda: operations.withdraw_resource(current_user, r), _("Resource withdrawn."),
                url_for("lists.resource", resource_id=r.id))


# --- projects ----------------------------------------------------------------------------------


@bp.route("/projects")
def projects():
    f = queries.ListFilter.from_args(request.args, ProjectStatus)
    page = _paginate(queries.projects(current_user, f))
    return render_template("lists/projects.html", page=page, f=f, statuses=list(ProjectStatus))


@bp.route("/projects/new", methods=["GET", "POST"])
def new_project():
    require(current_user.is_staff)
    communities = queries.managed_communities(current_user)
    require(bool(communities))
    form = ProjectForm()
    form.community_id.choices = [(c.id, c.full_name) for c in communities]
    form.category_id.choices = [(0, _("Any"))] + [(c.id, c.display_name) for c in _categories()]
    open_demands = list(db.session.execute(
        select(Demand).where(Demand.status == DemandStatus.OPEN.value,
                             Demand.community_id.in_([c.id for c in communities]))
        .order_by(Demand.urgency.desc(), Demand.id.desc()).limit(300)).scalars())
    form.demand_ids.choices = [(d.id, f"{d.title} · {d.community.name}") for d in open_demands]
    active = list(db.session.execute(
        select(Resource).where(Resource.status == ResourceStatus.ACTIVE.value)
        .order_by(Resource.created_at.desc()).limit(300)).scalars())
    form.resource_ids.choices = [(r.id, f"{r.title} · {r.owner_name}") for r in active]
    if request.method == "GET" and request.args.get("demand", type=db_int):
        chosen = next((d for d in open_demands if d.id == request.args.get("demand", type=db_int)),
                      None)
        if chosen is not None:
            form.demand_ids.data = [chosen.id]
            form.title.data, form.community_id.data = chosen.title, chosen.community_id
            form.category_id.data = chosen.category_id
    if form.validate_on_submit():
        try:
            project = operations.create_project(
                current_user, db.session.get(OrgNode, form.community_id.data), form.title.data,
                form.description.data or "",
                db.session.get(PostCategory, form.category_id.data)
                if form.category_id.data else None,
                demands=[d for d in open_demands if d.id in set(form.demand_ids.data or [])],
                resources=[r for r in active if r.id in set(form.resource_ids.data or [])])
        except DomainError as e:
            _form_error(form, e)
        else:
            db.session.commit()
            flash(_("Project created."), "success")
            return redirect(url_for("lists.project", project_id=project.id))
    status = 400 if request.method == "POST" else 200
    return render_template("lists/project_form.html", form=form), status


def _project(project_id: int) -> Project:
    return get_or_404(Project, project_id, lambda p: p.can_view(current_user))


def _managed_project(project_id: int) -> Project:
    return get_or_404(Project, project_id, lambda p: p.can_manage(current_user))


#: What the status form offers in each state of a project.
STATUS_ACTIONS = {ProjectStatus.OPEN: ("start", "cancel"),
                  ProjectStatus.IN_PROGRESS: ("complete", "cancel")}


def _status_form(p: Project, form: ProjectStatusForm | None = None) -> ProjectStatusForm:
    form = form or ProjectStatusForm(prefix="status")
    allowed = STATUS_ACTIONS.get(p.status_enum, ())
    form.action.choices = [c for c in form.action.choices if c[0] in allowed]
    return form


def _render_project(p: Project, status: int = 200, **forms):
    manage = p.can_manage(current_user)
    owners = [c for c in _owner_choices()
              if not any((o.unit_id and c[0] == f"u{o.unit_id}")
                         or (o.member_id and c[0] == f"m{o.member_id}") for o in p.owners)]
    claim_form = forms.get("claim_form") or ClaimForm(prefix="claim")
    claim_form.owner.choices = owners
    attach_form = forms.get("attach_form") or AttachDemandForm(prefix="attach")
    assign_form = forms.get("assign_form") or AssignResourceForm(prefix="assign")
    if manage:
        attach_form.demand_id.choices = [
            (d.id, f"{d.title} · {d.community.name}")
            for d in queries.open_demands_for_project(p, current_user)]
        assign_form.resource_id.choices = [
            (r.id, f"{r.title} · {r.owner_name}") for r in queries.assignable_resources(p)]
    return render_template(
        "lists/project.html", project=p, manage=manage,
        can_note=operations.can_note(current_user, p), posts=queries.project_posts(p),
        can_view_post=lambda post: post_queries.can_view(current_user, post),
        claim_form=claim_form, note_form=forms.get("note_form") or NoteForm(prefix="note"),
        attach_form=attach_form, assign_form=assign_form,
        status_form=_status_form(p, forms.get("status_form"))), status


@bp.route(f"/projects/<{ID}:project_id>")
def project(project_id: int):
    return _render_project(_project(project_id))


@bp.route(f"/projects/<{ID}:project_id>/claim", methods=["POST"])
def claim_project(project_id: int):
    p = _project(project_id)
    owners = _owner_choices()
    require(bool(owners))
    form = ClaimForm(prefix="claim")
    form.owner.choices = owners
    if form.validate_on_submit():
        unit, member = _owner(form.owner.data)
        return _act(lambda: operations.claim_project(current_user, p, unit=unit, member=member),
                    _("Project claimed."), url_for("lists.project", project_id=p.id))
    return _render_project(p, 400, claim_form=form)


@bp.route(f"/projects/<{ID}:project_id>/notes", methods=["POST"])
def add_note(project_id: int):
    p = _project(project_id)
    require(operations.can_note(current_user, p))
    form = NoteForm(prefix="note")
    if form.validate_on_submit():
        try:
            operations.add_note(current_user, p, form.body.data)
        except DomainError as e:
            _form_error(form, e)
        else:
            db.session.commit()
            flash(_("Note added."), "success")
            return redirect(url_for("lists.project", project_id=p.id))
    return _render_project(p, 400, note_form=form)


@bp.route(f"/projects/<{ID}:project_id>/demands", methods=["POST"])
def attach_demand(project_id: int):
    p = _managed_project(project_id)
    form = AttachDemandForm(prefix="attach")
    form.demand_id.choices = [(d.id, d.title)
                              for d in queries.open_demands_for_project(p, current_user)]
    if form.validate_on_submit():
        demand = db.session.get(Demand, form.demand_id.data)
        return _act(lambda: operations.attach_demand(current_user, p, demand),
                    _("Demand added to the project."), url_for("lists.project", project_id=p.id))
    return _render_project(p, 400, attach_form=form)


@bp.route(f"/projects/<{ID}:project_id>/resources", methods=["POST"])
def assign_resource(project_id: int):
    p = _managed_project(project_id)
    form = AssignResourceForm(prefix="assign")
    form.resource_id.choices = [(r.id, r.title) for r in queries.assignable_resources(p)]
    if form.validate_on_submit():
        resource = db.session.get(Resource, form.resource_id.data)
        return _act(lambda: operations.assign_resource(current_user, p, resource,
                                                       form.quantity.data),
                    _("Resource assigned to the project."),
                    url_for("lists.project", project_id=p.id))
    return _render_project(p, 400, assign_form=form)


@bp.route(f"/projects/<{ID}:project_id>/status", methods=["POST"])
def project_status(project_id: int):
    p = _managed_project(project_id)
    form = _status_form(p)
    if form.validate_on_submit():
        action = {"start": lambda: operations.start_project(current_user, p),
                  "complete": lambda: operations.complete_project(current_user, p,
                                                                  form.outcome.data),
                  "cancel": lambda: operations.cancel_project(current_user, p,
                                                              form.outcome.data)}
        return _act(action[form.action.data], _("Project updated."),
                    url_for("lists.project", project_id=p.id))
    return _render_project(p, 400, status_form=form)


@bp.route(f"/projects/<{ID}:project_id>/posts/new", methods=["GET", "POST"])
def generate_post(project_id: int):
    """A post with sessions for the project, on the posts package's own form."""
    from timebank.posts import operations as posts
    from timebank.catalogue import queries as catalogue_queries
    from timebank.posts.forms import PostForm, credit_minutes
    from timebank.catalogue.models import PostKind
    from timebank.posts.schedule import Schedule

    p = _managed_project(project_id)
    if not p.is_live:
        abort(404)
    form = PostForm()
    form.community_id.choices = [(p.community_id, p.community.full_name)]
    grouped: dict[str, list] = {}
    for k in catalogue_queries.kinds_for([p.community_id]):
        if p.category_id is None or k.category_id == p.category_id:
            grouped.setdefault(k.category.display_name, []).append((k.id, k.display_name))
    form.kind_id.choices = grouped
    form.skill_ids.choices = _skill_choices()
    if request.method == "GET":
        form.title.data, form.description.data = p.title, p.description
        form.start_time.data, form.end_time.data = dt.time(9), dt.time(11)
        form.community_id.data = p.community_id
    if form.validate_on_submit():
        deadline = None
        if form.claim_deadline.data:
            d = form.claim_deadline.data
            deadline = clock.local_datetime(d.date(), d.time())
        data = posts.PostData(
            kind=db.session.get(PostKind, form.kind_id.data), title=form.title.data,
            description=form.description.data or "", place=form.place.data or "",
            skill_ids=form.skill_ids.data or [], capacity=form.capacity.data,
            minutes_credit=credit_minutes(form), claim_deadline=deadline,
            open_to_all=form.open_to_all.data,
            schedule=Schedule(mode=form.mode.data, start_time=form.start_time.data,
                              end_time=form.end_time.data, dates_text=form.dates.data or "",
                              first_day=form.first_day.data, last_day=form.last_day.data,
                              weekdays=tuple(form.weekdays.data or ())))
        try:
            operations.generate_post(current_user, p, data,
                                     publish=request.form.get("publish") == "1")
        except DomainError as e:
            _form_error(form, e)
        else:
            db.session.commit()
            flash(_("Post created for the project."), "success")
            return redirect(url_for("lists.project", project_id=p.id))
    status = 400 if request.method == "POST" else 200
    return render_template("lists/generate_post.html", form=form, project=p), status
