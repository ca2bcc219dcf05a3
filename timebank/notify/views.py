"""The member's delivery settings (under the inbox) and the district admins' delivery log."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from timebank.accounts.models import Role
from timebank.core import nav
from timebank.core.access import get_or_404, require
from timebank.core.errors import DomainError
from timebank.core.web import page_arg
from timebank.extensions import db
from timebank.notify import operations, queries
from timebank.notify.forms import PreferencesForm
from timebank.notify.models import Channel, Delivery, Status

bp = Blueprint("notify", __name__, url_prefix="/inbox")


def _field_error(form, e: DomainError, default: str) -> None:
    field = getattr(form, e.details.get("field", default), None) or getattr(form, default)
    field.errors = list(field.errors) + [str(e.message)]


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    pref = operations.preferences_of(current_user.id)
    available = operations.member_channels()
    form = PreferencesForm(obj=pref)
    form.channels.choices = [(c, Channel(c).label) for c in available]
    if request.method == "GET":
        form.channels.data = (pref.channel_list if pref is not None
                              else [c for c in operations.default_channels() if c in available])
    if form.validate_on_submit():
        try:
            operations.save_preferences(current_user, form.channels.data or [], form.email.data,
                                        form.quiet_start.data, form.quiet_end.data)
        except DomainError as e:
            db.session.rollback()
            _field_error(form, e, "channels")
        else:
            db.session.commit()
            flash(_("Your notification settings are saved."), "success")
            return redirect(url_for("notify.settings"))
    return render_template("notify/settings.html", form=form, available=available,
                           phone=current_user.phone), 200 if not form.errors else 400


def _require_district_admin() -> None:
    require(current_user.has_role(Role.DISTRICT_ADMIN))


@bp.route("/deliveries")
def deliveries():
    _require_district_admin()
    status = request.args.get("status", "problems")
    if status not in ("problems", "all", *[s.value for s in Status]):
        status = "problems"
    page = db.paginate(queries.deliveries(status), page=page_arg(),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("notify/deliveries.html", page=page, status=status,
                           statuses=list(Status), counts=queries.status_counts())


@bp.route("/deliveries/<int:delivery_id>/retry", methods=["POST"])
def retry(delivery_id: int):
    _require_district_admin()
    delivery = get_or_404(Delivery, delivery_id)
    try:
        operations.retry(delivery, current_user)
    except DomainError as e:
        db.session.rollback()
        flash(str(e.message), "danger")
    else:
        db.session.commit()
        flash(_("The delivery is queued again."), "success")
    return redirect(url_for("notify.deliveries"))


nav.register(_l("Delivery log"), "notify.deliveries",
             lambda u: u.has_role(Role.DISTRICT_ADMIN), order=96)
