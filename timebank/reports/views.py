"""Feedback cards for units, staff evaluation notes, and the street and district dashboards."""
from __future__ import annotations

import datetime as dt

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from timebank.accounts.models import Role
from timebank.core import clock, nav
from timebank.core.access import get_or_404, require
from timebank.core.errors import DomainError
from timebank.core.limits import export_limit
from timebank.core.web import db_int, hours
from timebank.extensions import db
from timebank.members.models import Member
from timebank.orgs.models import OrgNode
from timebank.reports import dashboard, exports, operations, queries
from timebank.reports.forms import EvaluationForm
from timebank.reports.models import FeedbackCard, MemberEvaluation

bp = Blueprint("reports", __name__, url_prefix="/reports")


def _sees_units(user) -> bool:
    return user.is_liaison or user.has_role(Role.DISTRICT_ADMIN) or user.has_role(
        Role.STREET_ADMIN)


def _sees_dashboards(user) -> bool:
    return user.has_role(Role.DISTRICT_ADMIN) or user.has_role(Role.STREET_ADMIN)


nav.register(_l("Feedback cards"), "reports.units", _sees_units, order=72)
nav.register(_l("Dashboard"), "reports.dashboard_page", _sees_dashboards, order=60)

MAX_PERIOD_DAYS = 400


def _unit_or_404(unit_id: int) -> OrgNode:
    return get_or_404(OrgNode, unit_id, lambda u: queries.can_see_unit(current_user, u))


def _download(data: bytes, mimetype: str, filename: str) -> Response:
    return Response(data, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


def _send_card(card: queries.Card, fmt: str, stem: str):
    if fmt == "xlsx":
        return _download(exports.card_xlsx(card), exports.XLSX_MIMETYPE, f"{stem}.xlsx")
    if fmt == "pdf":
        return _download(exports.card_pdf(card), "application/pdf", f"{stem}.pdf")
    return None


# --- units and feedback cards ---------------------------------------------------------------

@bp.route("/units")
def units():
    require(_sees_units(current_user))
    visible = queries.visible_units(current_user)
    start, end = queries.previous_month(clock.today())
    this_start, this_end = queries.month_bounds(clock.today())
    ids = [u.id for u in visible]
    return render_template("reports/units.html", units=visible,
                           last=queries.unit_participation(ids, start, end),
                           current=queries.unit_participation(ids, this_start, this_end),
                           last_start=start, this_start=this_start)


def _period_args() -> tuple[dt.date, dt.date]:
    """start and end (inclusive) from the query string; default: last month."""
    default_start, default_end = queries.previous_month(clock.today())
    try:
        start = dt.date.fromisoformat(request.args.get("start") or default_start.isoformat())
        last = dt.date.fromisoformat(request.args.get("end") or
                                     (default_end - dt.timedelta(days=1)).isoformat())
    except ValueError:
        abort(400)
    end = last + dt.timedelta(days=1)
    if not (start < end and (end - start).days <= MAX_PERIOD_DAYS):
        abort(400)
    return start, end


@bp.route("/units/<int:unit_id>")
def unit(unit_id: int):
    u = _unit_or_404(unit_id)
    this_start, this_end = queries.month_bounds(clock.today())
    last_start, last_end = queries.previous_month(clock.today())
    figures = queries.unit_participation([u.id], this_start, this_end)[u.id]
    last = queries.unit_participation([u.id], last_start, last_end)[u.id]
    return render_template("reports/unit.html", unit=u, cards=queries.cards_of(u),
                           figures=figures, last=last, this_start=this_start,
                           last_start=last_start,
                           default_start=last_start, default_end=last_end - dt.timedelta(days=1))


# The HTML rule is registered first (decorators apply bottom up), so url_for() without
# ``fmt`` builds the page's address, not a download's.
@bp.route("/units/<int:unit_id>/card.pdf", defaults={"fmt": "pdf"})
@bp.route("/units/<int:unit_id>/card.xlsx", defaults={"fmt": "xlsx"})
@bp.route("/units/<int:unit_id>/card", defaults={"fmt": "html"})
@export_limit
def unit_card(unit_id: int, fmt: str):
    u = _unit_or_404(unit_id)
    start, end = _period_args()
    card = queries.build_card(u, start, end)
    stem = f"feedback-{u.code}-{start:%Y%m%d}-{card.last_day:%Y%m%d}"
    return _send_card(card, fmt, stem) or render_template(
        "reports/card.html", card=card, unit=u, stored=None, title=exports.card_title(card),
        summary=exports.card_summary(card), state_label=exports._state_label,
        xlsx=url_for("reports.unit_card", unit_id=u.id, fmt="xlsx", start=start.isoformat(),
                     end=card.last_day.isoformat()),
        pdf=url_for("reports.unit_card", unit_id=u.id, fmt="pdf", start=start.isoformat(),
                    end=card.last_day.isoformat()))


# The HTML rule is registered first (decorators apply bottom up), so url_for() without
# ``fmt`` builds the page's address, not a download's.
@bp.route("/cards/<int:card_id>.pdf", defaults={"fmt": "pdf"})
@bp.route("/cards/<int:card_id>.xlsx", defaults={"fmt": "xlsx"})
@bp.route("/cards/<int:card_id>", defaults={"fmt": "html"})
@export_limit
def stored_card(card_id: int, fmt: str):
    stored = get_or_404(FeedbackCard, card_id,
                        lambda c: queries.can_see_unit(current_user, c.unit))
    card = queries.Card.from_json(stored.figures_json)
    stem = f"feedback-{stored.unit.code}-{card.start:%Y%m}"
    return _send_card(card, fmt, stem) or render_template(
        "reports/card.html", card=card, unit=stored.unit, stored=stored,
        title=exports.card_title(card), summary=exports.card_summary(card),
        state_label=exports._state_label,
        xlsx=url_for("reports.stored_card", card_id=stored.id, fmt="xlsx"),
        pdf=url_for("reports.stored_card", card_id=stored.id, fmt="pdf"))


# --- evaluation notes -------------------------------------------------------------------------

def _member_managed(member_id: int) -> Member:
    return get_or_404(Member, member_id, lambda m: m.can_manage(current_user))


@bp.route("/members/<int:member_id>/evaluations", methods=["GET", "POST"])
def evaluations(member_id: int):
    member = _member_managed(member_id)
    form = EvaluationForm(data={"month": clock.today().replace(day=1)})
    status = 200
    if form.validate_on_submit():
        try:
            operations.add_evaluation(current_user, member, form.month.data, form.note.data)
        except DomainError as e:
            db.session.rollback()
            getattr(form, e.details.get("field", "note"), form.note).errors.append(
                str(e.message))
            status = 400
        else:
            db.session.commit()
            flash(_("Note saved; it will appear on the unit's feedback card."), "success")
            return redirect(url_for("reports.evaluations", member_id=member.id))
    elif request.method == "POST":
        status = 400
    return render_template("reports/evaluations.html", member=member, form=form,
                           notes=queries.evaluations_of(member)), status


@bp.route("/evaluations/<int:evaluation_id>/delete", methods=["POST"])
def delete_evaluation(evaluation_id: int):
    evaluation = get_or_404(MemberEvaluation, evaluation_id,
                            lambda e: e.member.community.can_manage(current_user))
    require(evaluation.can_delete(current_user))
    member_id = evaluation.member_id
    operations.delete_evaluation(current_user, evaluation)
    db.session.commit()
    flash(_("Note deleted."), "success")
    return redirect(url_for("reports.evaluations", member_id=member_id))


# --- dashboards -------------------------------------------------------------------------------

def _dashboard_args():
    require(_sees_dashboards(current_user))
    scopes = dashboard.scopes_for(current_user)
    require(bool(scopes))
    scope_id = request.args.get("scope", type=db_int)
    scope = scopes[0] if scope_id is None else next((s for s in scopes if s.id == scope_id),
                                                     None)
    if scope is None:
        abort(404)
    this_year = clock.today().year
    year = request.args.get("year", this_year, type=db_int)
    if not 2000 <= year <= this_year:
        year = this_year
    return scope, scopes, year


def _bars(figures, n: int = 10) -> list[tuple[str, int, str]]:
    """The top ``n`` by verified hours as chart bars: (label, value, value shown)."""
    top = sorted(figures, key=lambda f: (-f.minutes, f.name))[:n]
    return [(f.name, f.minutes, hours(f.minutes)) for f in top if f.minutes > 0]


@bp.route("/dashboard")
def dashboard_page():
    scope, scopes, year = _dashboard_args()
    return render_template("reports/dashboard.html", d=dashboard.build(scope, year),
                           scopes=scopes, bars=_bars,
                           years=range(clock.today().year, clock.today().year - 6, -1))


@bp.route("/dashboard.xlsx")
@export_limit
def dashboard_xlsx():
    scope, _scopes, year = _dashboard_args()
    return _download(exports.dashboard_xlsx(dashboard.build(scope, year)),
                     exports.XLSX_MIMETYPE, f"dashboard-{scope.code}-{year}.xlsx")
