"""Unit pages: the roster census (import, states, reminders, the printable list of those not yet
registered) and co-building agreements (draft, commitments, both signatures, fulfilment, the
year-end review). Load, check, act: ids outside the user's units or communities answer 404."""
from __future__ import annotations

import io

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   send_file, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from timebank.accounts.models import Role
from timebank.core import nav
from timebank.core.access import get_or_404, require
from timebank.core.errors import DomainError
from timebank.core.limits import export_limit
from timebank.core.web import db_int, page_arg, run_upload
from timebank.extensions import db
from timebank.members import operations as members_ops
from timebank.members import sheets
from timebank.members.exports import XLSX_MIME
from timebank.orgs.models import OrgNode
from timebank.posts import qr
from timebank.units import operations, queries
from timebank.units import roster as roster_sheet
from timebank.units.forms import (AgreementForm, CommitmentForm, FulfilmentForm, ReviewForm,
                                  RosterImportForm)
from timebank.units.models import (AGREEMENT_STATUS_LABELS, COMMITMENT_LABELS, Agreement,
                                   AgreementStatus, Commitment, CommitmentKind)

bp = Blueprint("units", __name__, url_prefix="/units")

# Street admins keep the rosters of units under their street too, but most units hang under
# the district: the entry is shown to liaisons and district admins only.
nav.register(_l("Unit roster"), "units.roster",
             lambda u: u.is_liaison or u.has_role(Role.DISTRICT_ADMIN), order=32)
nav.register(_l("Co-building agreements"), "units.agreements",
             lambda u: u.is_liaison or u.is_staff, order=33)

STATE_LABELS = {"unregistered": _l("On the roster, not registered"),
                "pending": _l("Waiting for review"), "approved": _l("Reported"),
                "other": _l("Not approved or inactive")}


def _field_error(form, e: DomainError, default: str) -> None:
    field = getattr(form, e.details.get("field", default), None) or getattr(form, default)
    field.errors = list(field.errors) + [str(e.message)]


# --- roster --------------------------------------------------------------------------------------


def _roster_unit(unit_id) -> OrgNode:
    return get_or_404(OrgNode, unit_id, lambda n: members_ops.can_liaise(current_user, n))


@bp.route("/roster")
def roster():
    units = queries.roster_units(current_user)
    require(bool(units))
    unit_id = request.args.get("unit", type=db_int)
    unit = _roster_unit(unit_id) if unit_id else units[0]
    state = request.args.get("state", "")
    state = state if state in queries.ROSTER_STATES else ""
    page = db.paginate(queries.roster(unit, state), page=page_arg(),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("units/roster.html", unit=unit, units=units, page=page, state=state,
                           counts=queries.roster_counts(unit), state_labels=STATE_LABELS,
                           roster_state=queries.roster_state)


@bp.route("/roster/import", methods=["GET", "POST"])
def roster_import():
    units = queries.roster_units(current_user)
    require(bool(units))
    form = RosterImportForm()
    form.unit_id.choices = [(u.id, u.name) for u in units]
    if request.method == "GET" and request.args.get("unit", type=db_int):
        form.unit_id.data = request.args.get("unit", type=db_int)

    def apply(upload):
        unit = next(u for u in units if u.id == form.unit_id.data)
        rows = sheets.read_upload(upload.stream, upload.filename or "",
                                  rows_from=roster_sheet.rows_from)
        return operations.import_rows(current_user, unit, rows,
                                      all_or_nothing=form.mode.data == "all")

    result, status = run_upload(form, apply)
    return render_template("units/roster_import.html", form=form, result=result,
                           columns=roster_sheet.COLUMNS), status


@bp.route("/roster/template.<fmt>")
@export_limit
def roster_template(fmt: str):
    require(bool(queries.roster_units(current_user)))
    if fmt == "csv":
        return send_file(io.BytesIO(roster_sheet.template_csv()), as_attachment=True,
                         download_name="roster-template.csv", mimetype="text/csv")
    if fmt != "xlsx":
        abort(404)
    return send_file(io.BytesIO(roster_sheet.template_xlsx()), as_attachment=True,
                     download_name="roster-template.xlsx", mimetype=XLSX_MIME)


@bp.route("/roster/<int:unit_id>/remind", methods=["POST"])
def roster_remind(unit_id: int):
    unit = _roster_unit(unit_id)
    if request.form.get("all") == "1":
        entries = queries.unregistered(unit)
    else:
        try:
            ids = sorted({int(i) for i in request.form.getlist("entry_ids")})
        except ValueError:
            abort(400)
        entries = queries.entries_of(unit, ids)
        if len(entries) != len(ids):
            abort(404)
    sent = operations.remind_unregistered(current_user, unit, entries)
    db.session.commit()
    flash(_("%(n)d reminders sent to people who have an account (at most one a day). Print the "
            "list for the others.", n=sent), "success")
    return redirect(url_for("units.roster", unit=unit.id, state="unregistered"))


@bp.route("/roster/<int:unit_id>/unregistered")
def roster_print(unit_id: int):
    unit = _roster_unit(unit_id)
    link = url_for("members.register", _external=True)
    return render_template("units/roster_print.html", unit=unit,
                           entries=queries.unregistered(unit), link=link, qr_svg=qr.svg(link))


# --- agreements ----------------------------------------------------------------------------------


def _agreement(agreement_id) -> Agreement:
    return get_or_404(Agreement, agreement_id, lambda a: a.can_view(current_user))


def _item(agreement: Agreement, item_id) -> Commitment:
    return get_or_404(Commitment, item_id, lambda i: i.agreement_id == agreement.id)


@bp.route("/agreements")
def agreements():
    require(current_user.is_liaison or current_user.is_staff)
    status = request.args.get("status", "")
    page = db.paginate(queries.agreements_for(current_user, status), page=page_arg(),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("units/agreements.html", page=page, status=status,
                           status_labels=AGREEMENT_STATUS_LABELS,
                           progress=queries.progress_many(page.items))


@bp.route("/agreements/new", methods=["GET", "POST"])
def agreement_new():
    units, orgs = queries.agreement_parties(current_user)
    require(bool(units) and bool(orgs))
    form = AgreementForm()
    form.unit_id.choices = [(u.id, u.name) for u in units]
    form.org_id.choices = [(n.id, n.full_name) for n in orgs]
    if form.validate_on_submit():
        try:
            agreement = operations.create_agreement(
                current_user, db.session.get(OrgNode, form.unit_id.data),
                db.session.get(OrgNode, form.org_id.data), form.title.data,
                form.starts_on.data, form.ends_on.data)
        except DomainError as e:
            db.session.rollback()
            _field_error(form, e, "title")
        else:
            db.session.commit()
            flash(_("Draft saved. Add the commitments, then sign."), "success")
            return redirect(url_for("units.agreement", agreement_id=agreement.id))
    return render_template("units/agreement_new.html", form=form), (
        400 if request.method == "POST" else 200)


def _fulfilment_form(agreement: Agreement, item: Commitment | None = None, formdata=None):
    form = FulfilmentForm(prefix=f"f{item.id}" if item else "f", formdata=formdata)
    posts, projects = queries.linked_posts_and_projects(agreement)
    form.post_id.choices = [(0, "—")] + [(p.id, p.title) for p in posts]
    form.project_id.choices = [(0, "—")] + [(p.id, p.title) for p in projects]
    return form


def _render(agreement: Agreement, status: int = 200, item_form=None, review_form=None,
            fulfil_forms=None):
    fulfil_forms = fulfil_forms or {}
    if agreement.status == AgreementStatus.ACTIVE and agreement.signs_for_org(current_user):
        for item in agreement.items:
            fulfil_forms.setdefault(item.id, _fulfilment_form(agreement, item, formdata=None))
    return render_template(
        "units/agreement.html", agreement=agreement, progress=queries.progress(agreement),
        item_form=item_form or CommitmentForm(prefix="item", formdata=None),
        review_form=review_form or ReviewForm(prefix="review", formdata=None),
        fulfil_forms=fulfil_forms, status_labels=AGREEMENT_STATUS_LABELS,
        kind_labels=COMMITMENT_LABELS, for_unit=agreement.signs_for_unit(current_user),
        for_org=agreement.signs_for_org(current_user)), status


@bp.route("/agreements/<int:agreement_id>")
def agreement(agreement_id: int):
    return _render(_agreement(agreement_id))


@bp.route("/agreements/<int:agreement_id>/items", methods=["POST"])
def add_item(agreement_id: int):
    agreement = _agreement(agreement_id)
    form = CommitmentForm(prefix="item")
    if form.validate_on_submit():
        try:
            target = operations.parse_amount(form.kind.data, form.target.data, "target")
            operations.add_commitment(current_user, agreement, form.kind.data,
                                      form.description.data, target)
        except DomainError as e:
            db.session.rollback()
            _field_error(form, e, "description")
        else:
            db.session.commit()
            flash(_("Commitment added."), "success")
            return redirect(url_for("units.agreement", agreement_id=agreement.id))
    return _render(agreement, 400, item_form=form)


@bp.route("/agreements/<int:agreement_id>/items/<int:item_id>/remove", methods=["POST"])
def remove_item(agreement_id: int, item_id: int):
    agreement = _agreement(agreement_id)
    item = _item(agreement, item_id)
    try:
        operations.remove_commitment(current_user, item)
    except DomainError as e:
        db.session.rollback()
        flash(str(e.message), "danger")
    else:
        db.session.commit()
        flash(_("Commitment removed."), "success")
    return redirect(url_for("units.agreement", agreement_id=agreement.id))


@bp.route("/agreements/<int:agreement_id>/sign", methods=["POST"])
def sign(agreement_id: int):
    agreement = _agreement(agreement_id)
    try:
        operations.sign(current_user, agreement)
    except DomainError as e:
        db.session.rollback()
        flash(str(e.message), "danger")
        return redirect(url_for("units.agreement", agreement_id=agreement.id))
    db.session.commit()
    flash(_("The agreement is in force.") if agreement.status == AgreementStatus.ACTIVE
          else _("Signed. The other side is asked to sign too."), "success")
    return redirect(url_for("units.agreement", agreement_id=agreement.id))


@bp.route("/agreements/<int:agreement_id>/items/<int:item_id>/fulfil", methods=["POST"])
def fulfil(agreement_id: int, item_id: int):
    agreement = _agreement(agreement_id)
    item = _item(agreement, item_id)
    require(agreement.signs_for_org(current_user))
    form = _fulfilment_form(agreement, item, formdata=request.form)
    if form.validate_on_submit():
        try:
            amount = operations.parse_amount(item.kind, form.amount.data, "amount")
            operations.record_fulfilment(current_user, item, amount, form.on_date.data,
                                         form.note.data, form.evidence.data,
                                         post_id=form.post_id.data or None,
                                         project_id=form.project_id.data or None)
        except DomainError as e:
            db.session.rollback()
            _field_error(form, e, "amount")
        else:
            db.session.commit()
            flash(_("Recorded."), "success")
            return redirect(url_for("units.agreement", agreement_id=agreement.id))
    return _render(agreement, 400, fulfil_forms={item.id: form})


@bp.route("/agreements/<int:agreement_id>/review", methods=["POST"])
def review(agreement_id: int):
    agreement = _agreement(agreement_id)
    require(agreement.signs_for_org(current_user))
    form = ReviewForm(prefix="review")
    if form.validate_on_submit():
        try:
            operations.close_with_review(current_user, agreement, form.review.data)
        except DomainError as e:
            db.session.rollback()
            _field_error(form, e, "review")
        else:
            db.session.commit()
            flash(_("Reviewed; the agreement is closed."), "success")
            return redirect(url_for("units.agreement", agreement_id=agreement.id))
    return _render(agreement, 400, review_form=form)


@bp.app_template_filter("commitment_amount")
def commitment_amount(value: int, kind: str) -> str:
    from timebank.core.web import hours

    kind = CommitmentKind(kind)
    if kind == CommitmentKind.HOURS:
        return _("%(h)s hours", h=hours(value))
    if kind == CommitmentKind.FUNDS:
        return _("%(n)s yuan", n=f"{value:,}")
    return _("%(n)d items", n=value)
