"""Member pages: online registration and review, the registration form and its history, the
staff directory with bulk actions, import/export, the contact card, the skills vocabulary and
the unit liaison's dual-reporting page."""
from __future__ import annotations

import io

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   send_file, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from timebank.accounts.models import Role
from timebank.catalogue import queries as catalogue_queries
from timebank.core import nav
from timebank.core.access import get_or_404, public, require
from timebank.core.errors import DomainError
from timebank.core.limits import export_limit
from timebank.core.web import db_int, page_arg, run_upload
from timebank.extensions import db, limiter
from timebank.core import figures
from timebank.members import exports, imports, operations, queries, reveals, sheets
from timebank.members.forms import (ApplicationForm, BulkForm, ImportForm, MoveForm, ProfileForm,
                                    RegistrationForm, ReviewForm, SkillEditForm, SkillForm,
                                    UnitReportForm)
from timebank.members.models import (SLOT_LABELS, SLOTS, STATUS_LABELS, WEEKDAY_LABELS, Member,
                                     MemberStatus, Skill, UnitReport)
from timebank.orgs.models import OrgNode
from timebank.catalogue.models import PostCategory, PostKind

bp = Blueprint("members", __name__, url_prefix="/members")

nav.register(_l("My registration"), "members.me",
             lambda u: u.is_member or not u.roles, order=20)
nav.register(_l("Members"), "members.directory", lambda u: u.is_staff, order=30)
nav.register(_l("Unit members"), "members.liaison", lambda u: u.is_liaison, order=31)
nav.register(_l("Skills list"), "members.skills",
             lambda u: u.has_role(Role.DISTRICT_ADMIN), order=85)

STATE_LABELS = {"not_reported": _l("Not reported"), "form_missing": _l("Form not filled in"),
                "pending": _l("Waiting for review"), "reported": _l("Reported to the community")}


def _field_error(form, e: DomainError, default: str) -> None:
    field = getattr(form, e.details.get("field", default), None) or getattr(form, default)
    field.errors = list(field.errors) + [str(e.message)]


def _visible_member(member_id: int) -> Member:
    # Outside the user's scope: 404, so ids cannot be probed.
    return get_or_404(Member, member_id, lambda m: m.can_view(current_user))


def _managed_member(member_id: int) -> Member:
    member = _visible_member(member_id)
    require(member.can_manage(current_user))
    return member


# --- registration and application --------------------------------------------------------------


def _fill_residence_choices(form: ApplicationForm) -> None:
    form.unit_id.choices = [(0, _("Outside the district / none"))] + [
        (u.id, u.name) for u in queries.active_units()]
    communities = queries.active_communities()
    form.community_id.choices = [(0, _("Choose…"))] + [(c.id, c.full_name) for c in communities]
    # Each grid names its community; members.js shows only the chosen community's grids.
    form.grid_id.choices = [(0, _("Choose…"))] + [
        (g.id, g.name, {"data-community": g.parent_id})
        for g in queries.grids_of([c.id for c in communities])]


def _residence(form: ApplicationForm):
    def node(value):
        return db.session.get(OrgNode, value) if value else None

    return node(form.community_id.data), node(form.grid_id.data), node(form.unit_id.data)


@bp.route("/register", methods=["GET", "POST"])
@public
@limiter.limit(lambda: current_app.config.get("MEMBER_REGISTER_LIMIT", "10 per hour"),
               methods=["POST"], scope="member-register")
def register():
    if current_user.is_authenticated:
        return redirect(url_for("members.application"))
    form = RegistrationForm()
    _fill_residence_choices(form)
    status = 200
    if form.validate_on_submit():
        community, grid, unit = _residence(form)
        try:
            operations.register(form.phone.data, form.name.data, form.id_number.data,
                                form.password.data, community, grid, unit)
        except DomainError as e:
            db.session.rollback()
            _field_error(form, e, "phone")
        else:
            db.session.commit()
            # The same page whether an account was created, taken over, or the phone or ID
            # number was already held (their holder is told in their inbox): registration
            # must not reveal who is registered. So it does not log in either.
            return redirect(url_for("members.registered"))
    if request.method == "POST":
        status = 400
    return render_template("members/register.html", form=form), status


@bp.route("/register/submitted")
@public
def registered():
    return render_template("members/registered.html")


@bp.route("/me")
def me():
    member = queries.member_for_user(current_user)
    if member is None:
        return render_template("members/not_reported.html")
    return _render_detail(member)


@bp.route("/me/application", methods=["GET", "POST"])
def application():
    """Apply (no member record yet) or correct a pending or rejected application."""
    member = queries.member_for_user(current_user)
    if member is not None:
        require(member.status in (MemberStatus.PENDING, MemberStatus.REJECTED))
    form = ApplicationForm()
    if request.method == "GET":
        form.name.data = current_user.name
        if member is not None:
            form.community_id.data = member.community_id
            form.grid_id.data = member.grid_id
            form.unit_id.data = member.unit_id
            # The ID number is not shown back (masked everywhere); the applicant types it again.
    _fill_residence_choices(form)
    if form.validate_on_submit():
        community, grid, unit = _residence(form)
        try:
            if member is None:
                operations.apply(current_user, form.id_number.data, form.name.data, community,
                                 grid, unit)
            else:
                operations.resubmit(current_user, member, form.name.data, form.id_number.data,
                                    community, grid, unit)
        except DomainError as e:
            db.session.rollback()
            _field_error(form, e, "id_number")
        else:
            db.session.commit()
            flash(_("Submitted. Your community's staff will review it."), "success")
            return redirect(url_for("members.me"))
    return render_template("members/application.html", form=form, member=member), (
        400 if request.method == "POST" else 200)


# --- a member's pages --------------------------------------------------------------------------


def _render_detail(member: Member, revealed: str | None = None, review_form=None,
                   status: int = 200):
    profile = operations.current_profile_row(member)
    move_form = None
    if member.can_manage(current_user):
        move_form = MoveForm(prefix="move")
        move_form.grid_id.choices = [(g.id, g.name) for g in queries.grids_of([member.community_id])
                                     if g.id != member.grid_id]
    return render_template(
        "members/detail.html", member=member, profile=profile, revealed=revealed,
        can_manage=member.can_manage(current_user), is_self=member.user_id == current_user.id,
        review_form=review_form or ReviewForm(prefix="review"), move_form=move_form,
        slots=SLOTS, slot_labels=SLOT_LABELS, weekday_labels=WEEKDAY_LABELS,
        reporting_state=STATE_LABELS[queries.reporting_state(member)],
    ), status


@bp.route("/<int:member_id>")
def detail(member_id: int):
    member = _visible_member(member_id)
    return _render_detail(member)


@bp.route("/<int:member_id>/history")
def history(member_id: int):
    member = _visible_member(member_id)
    require(member.user_id == current_user.id or member.can_manage(current_user))
    return render_template("members/history.html", member=member,
                           versions=queries.profile_history(member), slots=SLOTS,
                           slot_labels=SLOT_LABELS, weekday_labels=WEEKDAY_LABELS)


def _fill_profile_choices(form: ProfileForm, member: Member, profile) -> None:
    chosen_skills = {s.id for s in profile.skills} if profile else set()
    form.skills.choices = [(s.id, s.display_name) for s in queries.skills(active_only=False)
                           if s.active or s.id in chosen_skills]
    form.willing_categories.choices = [(c.id, c.display_name)
                                       for c in catalogue_queries.categories()]
    form.willing_kinds.choices = [(k.id, k.display_name)
                                  for k in catalogue_queries.kinds_for([member.community_id])]


@bp.route("/<int:member_id>/form", methods=["GET", "POST"])
def edit_form(member_id: int):
    member = _visible_member(member_id)
    is_self = member.user_id == current_user.id
    require(is_self or member.can_manage(current_user))
    if is_self and not member.is_approved:
        flash(_("You can fill in the form once your registration is approved."), "warning")
        return redirect(url_for("members.me"))
    profile = operations.current_profile_row(member)
    form = ProfileForm()
    if request.method == "GET" and profile is not None:
        form.skills.data = [s.id for s in profile.skills]
        form.free_text_skills.data = profile.free_text_skills
        form.hobbies.data = profile.hobbies
        form.willing_categories.data = [c.id for c in profile.willing_categories]
        form.willing_kinds.data = [k.id for k in profile.willing_kinds]
        form.availability.data = [f"{d}-{s}" for d, s in sorted(profile.availability_cells)]
        form.max_sessions_per_month.data = profile.max_sessions_per_month
    _fill_profile_choices(form, member, profile)
    if form.validate_on_submit():
        try:
            operations.save_profile(
                current_user, member,
                skills=[db.session.get(Skill, i) for i in form.skills.data],
                free_text_skills=form.free_text_skills.data, hobbies=form.hobbies.data,
                categories=[db.session.get(PostCategory, i) for i in form.willing_categories.data],
                kinds=[db.session.get(PostKind, i) for i in form.willing_kinds.data],
                availability=form.availability_cells(),
                max_sessions_per_month=form.max_sessions_per_month.data)
        except DomainError as e:
            db.session.rollback()
            _field_error(form, e, "skills")
        else:
            db.session.commit()
            flash(_("The form has been saved."), "success")
            return redirect(url_for("members.me") if is_self
                            else url_for("members.detail", member_id=member.id))
    kinds_by_category: dict[int, list] = {}
    for k in catalogue_queries.kinds_for([member.community_id]):
        kinds_by_category.setdefault(k.category_id, []).append(k)
    return render_template(
        "members/profile_form.html", form=form, member=member, is_self=is_self,
        categories=catalogue_queries.categories(), kinds_by_category=kinds_by_category,
        slots=SLOTS, slot_labels=SLOT_LABELS, weekday_labels=WEEKDAY_LABELS,
    ), (400 if request.method == "POST" else 200)


@bp.route("/<int:member_id>/card")
def card(member_id: int):
    member = _visible_member(member_id)
    liaisons = queries.unit_liaisons([member.unit_id]).get(member.unit_id, []) if member.unit_id else []
    reveals.reveal_contact_card(current_user, member)
    db.session.commit()
    return render_template("members/card.html", member=member, liaisons=liaisons,
                           staff=queries.community_staff(member.community_id),
                           profile=operations.current_profile_row(member))


@bp.route("/<int:member_id>/reveal", methods=["POST"])
def reveal(member_id: int):
    member = _managed_member(member_id)
    number = reveals.reveal_id_number(current_user, member)
    db.session.commit()
    return _render_detail(member, revealed=number or "")


@bp.route("/<int:member_id>/review", methods=["POST"])
def review(member_id: int):
    member = _managed_member(member_id)
    form = ReviewForm(prefix="review")
    status = 400
    if form.validate_on_submit():
        try:
            if form.decision.data == "approve":
                operations.approve(current_user, member)
            else:
                operations.reject(current_user, member, form.reason.data)
        except DomainError as e:
            db.session.rollback()
            _field_error(form, e, "reason")
            status = e.status
            if isinstance(e, operations.NotPending):
                flash(str(e.message), "warning")
        else:
            db.session.commit()
            flash(_("Approved.") if form.decision.data == "approve" else _("Rejected."),
                  "success")
            return redirect(url_for("members.detail", member_id=member.id))
    return _render_detail(member, review_form=form, status=status)


@bp.route("/<int:member_id>/move", methods=["POST"])
def move(member_id: int):
    member = _managed_member(member_id)
    form = MoveForm(prefix="move")
    form.grid_id.choices = [(g.id, g.name) for g in queries.grids_of([member.community_id])]
    if not form.validate_on_submit():
        flash(_("Choose a grid of this community."), "danger")
        return redirect(url_for("members.detail", member_id=member.id))
    operations.move_to_grid(current_user, member, db.session.get(OrgNode, form.grid_id.data))
    db.session.commit()
    flash(_("Moved to %(grid)s.", grid=member.grid.name), "success")
    return redirect(url_for("members.detail", member_id=member.id))


@bp.route("/<int:member_id>/active", methods=["POST"])
def set_active(member_id: int):
    member = _managed_member(member_id)
    try:
        if request.form.get("active") == "1":
            operations.reactivate(current_user, member)
        else:
            operations.deactivate(current_user, member)
    except DomainError as e:
        db.session.rollback()
        flash(str(e.message), "danger")
    else:
        db.session.commit()
        flash(_("Saved."), "success")
    return redirect(url_for("members.detail", member_id=member.id))


# --- staff directory ---------------------------------------------------------------------------


def _directory_context(f: queries.DirectoryFilter):
    communities = queries.communities_in_scope(current_user)
    community_ids = [f.community_id] if f.community_id else [c.id for c in communities]
    # Grids only once a community is chosen (a district has hundreds).
    grids = queries.grids_of(community_ids) if len(community_ids) <= 3 else []
    return {"communities": communities, "grids": grids, "units": queries.active_units(),
            "skills": queries.skills(active_only=False),
            "categories": catalogue_queries.categories(),
            "kinds": catalogue_queries.kinds_for([f.community_id]),
            "status_labels": STATUS_LABELS, "filters": f}


@bp.route("/")
def directory():
    require(current_user.is_staff)
    f = queries.DirectoryFilter.from_args(request.args)
    if f.community_id and f.community_id not in {c.id for c in queries.communities_in_scope(
            current_user)}:
        abort(404)
    page = db.paginate(queries.directory(current_user, f).options(*queries.page_options()),
                       page=page_arg(),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    bulk = BulkForm(prefix="bulk")
    ctx = _directory_context(f)
    bulk.grid_id.choices = [(0, "—")] + [(g.id, g.name) for g in ctx["grids"]]
    return render_template("members/directory.html", page=page, bulk=bulk,
                           counts=queries.status_counts(current_user, f.community_id), **ctx)


@bp.route("/bulk", methods=["POST"])
def bulk():
    require(current_user.is_staff)
    form = BulkForm(prefix="bulk")
    back = request.form.get("back") or ""
    target = back if back.startswith("/members/") and "//" not in back else url_for(
        "members.directory")
    try:
        ids = [int(i) for i in request.form.getlist("member_ids")]
    except ValueError:
        abort(400)
    if not form.validate_on_submit() or not ids:
        flash(_("Choose members and an action."), "warning")
        return redirect(target)
    members = queries.members_in_scope(current_user, ids)
    if len(members) != len(set(ids)):
        abort(404)  # an id outside the user's scope
    done = skipped = 0
    try:
        for member in members:
            try:
                if form.action.data == "approve":
                    operations.approve(current_user, member)
                elif form.action.data == "reject":
                    operations.reject(current_user, member, form.reason.data)
                elif form.action.data == "move":
                    grid = db.session.get(OrgNode, form.grid_id.data) if form.grid_id.data else None
                    operations.move_to_grid(current_user, member, grid)
                else:
                    operations.deactivate(current_user, member)
                done += 1
            except operations.NotPending:
                skipped += 1
    except DomainError as e:
        db.session.rollback()
        flash(str(e.message), "danger")
        return redirect(target)
    db.session.commit()
    flash(_("Done for %(done)d members; %(skipped)d skipped (already reviewed).", done=done,
            skipped=skipped), "success")
    return redirect(target)


@bp.route("/export.xlsx")
@export_limit
def export():
    require(current_user.is_staff)
    f = queries.DirectoryFilter.from_args(request.args)
    data = exports.directory_xlsx(queries.directory(current_user, f, join_users=True))
    return send_file(io.BytesIO(data), as_attachment=True, download_name="members.xlsx",
                     mimetype=exports.XLSX_MIME)


@bp.route("/reported-units")
def reported_units():
    require(current_user.is_staff)
    return render_template("members/reported_units.html",
                           reports=queries.units_reported_to(current_user))


# --- import ------------------------------------------------------------------------------------


@bp.route("/import", methods=["GET", "POST"])
def import_members():
    require(current_user.is_staff)
    form = ImportForm()
    communities = queries.communities_in_scope(current_user)
    form.community_id.choices = [(c.id, c.full_name) for c in communities]

    def apply(upload):
        community = next(c for c in communities if c.id == form.community_id.data)
        rows = sheets.read_upload(upload.stream, upload.filename or "")
        return imports.import_rows(current_user, community, rows,
                                   all_or_nothing=form.mode.data == "all")

    result, status = run_upload(form, apply)
    return render_template("members/import.html", form=form, result=result,
                           columns=sheets.COLUMNS), status


@bp.route("/import/template.<fmt>")
@export_limit
def import_template(fmt: str):
    require(current_user.is_staff)
    if fmt == "csv":
        return send_file(io.BytesIO(sheets.template_csv()), as_attachment=True,
                         download_name="members-template.csv", mimetype="text/csv")
    if fmt != "xlsx":
        abort(404)
    return send_file(io.BytesIO(sheets.template_xlsx()), as_attachment=True,
                     download_name="members-template.xlsx", mimetype=exports.XLSX_MIME)


# --- skills vocabulary -------------------------------------------------------------------------


@bp.route("/skills", methods=["GET", "POST"])
def skills():
    require(current_user.has_role(Role.DISTRICT_ADMIN))
    form = SkillForm(prefix="new")
    if form.validate_on_submit():
        try:
            skill = operations.create_skill(current_user, form.name.data, form.name_en.data,
                                            form.code.data or None)
        except DomainError as e:
            db.session.rollback()
            _field_error(form, e, "name")
        else:
            db.session.commit()
            flash(_("Added %(name)s.", name=skill.name), "success")
            return redirect(url_for("members.skills"))
    return render_template("members/skills.html", form=form,
                           skills=queries.skills(active_only=False),
                           edit_form=SkillEditForm), (400 if form.errors else 200)


@bp.route("/skills/<int:skill_id>", methods=["POST"])
def edit_skill(skill_id: int):
    require(current_user.has_role(Role.DISTRICT_ADMIN))
    skill = get_or_404(Skill, skill_id)
    form = SkillEditForm(prefix=f"s{skill.id}")
    if form.validate_on_submit():
        try:
            operations.update_skill(current_user, skill, form.name.data, form.name_en.data,
                                    form.active.data)
        except DomainError as e:
            db.session.rollback()
            flash(str(e.message), "danger")
        else:
            db.session.commit()
            flash(_("Saved."), "success")
    else:
        flash(_("A skill name of 1-50 characters is required."), "danger")
    return redirect(url_for("members.skills"))


# --- unit liaison: dual reporting --------------------------------------------------------------


def _liaison_unit(unit_id: int) -> OrgNode:
    return get_or_404(OrgNode, unit_id, lambda n: operations.can_liaise(current_user, n))


@bp.route("/unit")
def liaison():
    units = queries.liaison_units(current_user)
    require(bool(units))
    unit_id = request.args.get("unit", type=db_int)
    unit = _liaison_unit(unit_id) if unit_id else units[0]
    state = request.args.get("state", "")
    state = state if state in queries.REPORTING_STATES else ""
    page = db.paginate(queries.unit_members(unit, state).options(*queries.page_options()),
                       page=page_arg(),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    report_form = UnitReportForm(prefix="report")
    report_form.org_id.choices = [(n.id, n.full_name) for n in queries.report_targets()]
    return render_template(
        "members/liaison.html", unit=unit, units=units, page=page, state=state,
        counts=queries.unit_state_counts(unit), state_labels=STATE_LABELS,
        reported=figures.value("reported_members", unit),
        registered=figures.value("registered_members", unit),
        reporting_state=queries.reporting_state, needs_reminder=queries.needs_reminder,
        reports=queries.unit_reports(unit), report_form=report_form)


@bp.route("/unit/<int:unit_id>/remind", methods=["POST"])
def remind(unit_id: int):
    unit = _liaison_unit(unit_id)
    try:
        ids = [int(i) for i in request.form.getlist("member_ids")]
    except ValueError:
        abort(400)
    if request.form.get("all") == "1":
        members = [m for m in db.session.execute(queries.unit_members(unit)).scalars()
                   if queries.needs_reminder(m)]
    else:
        members = [m for m in (db.session.get(Member, i) for i in ids) if m is not None]
        if len(members) != len(set(ids)) or any(m.unit_id != unit.id for m in members):
            abort(404)
    sent = operations.remind_unreported(current_user, unit, members)
    db.session.commit()
    flash(_("%(n)d reminders sent (at most one per member per day).", n=sent), "success")
    return redirect(url_for("members.liaison", unit=unit.id))


@bp.route("/unit/<int:unit_id>/reports", methods=["POST"])
def report_unit(unit_id: int):
    unit = _liaison_unit(unit_id)
    form = UnitReportForm(prefix="report")
    form.org_id.choices = [(n.id, n.full_name) for n in queries.report_targets()]
    if form.validate_on_submit():
        try:
            report = operations.report_unit(current_user, unit,
                                            db.session.get(OrgNode, form.org_id.data),
                                            form.note.data)
        except DomainError as e:
            db.session.rollback()
            flash(str(e.message), "danger")
        else:
            db.session.commit()
            flash(_("%(unit)s has reported to %(org)s.", unit=unit.name, org=report.org.name),
                  "success")
    else:
        flash(_("Choose a street or community."), "danger")
    return redirect(url_for("members.liaison", unit=unit.id))


@bp.route("/unit/<int:unit_id>/reports/<int:report_id>/withdraw", methods=["POST"])
def withdraw_report(unit_id: int, report_id: int):
    unit = _liaison_unit(unit_id)
    report = get_or_404(UnitReport, report_id, lambda r: r.unit_id == unit.id)
    operations.withdraw_unit_report(current_user, report)
    db.session.commit()
    flash(_("Withdrawn."), "success")
    return redirect(url_for("members.liaison", unit=unit.id))

