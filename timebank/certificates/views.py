"""Certificate pages: a member's certificates (ask for one, download it), the public
verification page the QR code opens, and revoking by staff."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from timebank.certificates import operations, pdf, queries
from timebank.certificates.forms import IssueForm, RevokeForm
from timebank.certificates.models import Certificate
from timebank.core import clock, nav
from timebank.core.access import get_or_404, public
from timebank.core.errors import DomainError
from timebank.core.limits import export_limit
from timebank.extensions import db
from timebank.ledger.util import mask_name
from timebank.members import queries as members
from timebank.members.models import Member

bp = Blueprint("certificates", __name__)

nav.register(_l("Service certificate"), "certificates.index", lambda u: u.is_member, order=26)


def _own_member() -> Member:
    member = members.member_for_user(current_user)
    if member is None:
        abort(403)
    return member


def _render_index(member: Member, form: IssueForm, status: int = 200):
    return render_template("certificates/index.html", member=member, form=form,
                           certificates=queries.certificates_of(member)), status


@bp.route("/certificates/", methods=["GET", "POST"])
def index():
    member = _own_member()
    form = IssueForm()
    if form.is_submitted():
        if not form.validate():
            return _render_index(member, form, 400)
        try:
            cert = operations.issue(current_user, member, form.start.data, form.end.data)
        except DomainError as e:
            field = getattr(form, e.details.get("field") or "", None) or form.start
            field.errors = list(field.errors) + [str(e.message)]
            return _render_index(member, form, 400)
        db.session.commit()
        flash(_("Certificate %(serial)s issued.", serial=cert.serial), "success")
        return redirect(url_for("certificates.index"))
    if not form.start.data:
        today = clock.today()
        form.start.data = dt.date(today.year, 1, 1)
        form.end.data = today
    return _render_index(member, form)


def verify_url(cert: Certificate) -> str:
    return url_for("certificates.verify", code=cert.code, _external=True)


@bp.route("/certificates/<int:cert_id>.pdf")
@export_limit
def download(cert_id: int):
    cert = get_or_404(Certificate, cert_id, lambda c: c.can_download(current_user))
    return send_file(pdf.render(cert, verify_url(cert)), mimetype="application/pdf",
                     as_attachment=True, download_name=f"{cert.serial}.pdf")


@bp.route("/verify/<code>")
@public
def verify(code: str):
    cert = queries.by_code(code)
    if cert is None:
        abort(404)
    can_revoke = current_user.is_authenticated and cert.can_revoke(current_user)
    return render_template("certificates/verify.html", cert=cert, c=cert.content,
                           masked_name=mask_name(cert.content.get("name", "")),
                           can_revoke=can_revoke, form=RevokeForm() if can_revoke else None)


@bp.route("/certificates/<int:cert_id>/revoke", methods=["POST"])
def revoke(cert_id: int):
    cert = get_or_404(Certificate, cert_id, lambda c: c.member.community.can_manage(current_user))
    form = RevokeForm()
    if not form.validate_on_submit():
        flash(_("Give a reason for revoking (up to 500 characters)."), "danger")
    else:
        try:
            done = operations.revoke(current_user, cert, form.reason.data)
        except DomainError as e:
            flash(str(e.message), "danger")
        else:
            db.session.commit()
            flash(_("Certificate revoked.") if done else _("This certificate is no longer valid."),
                  "success" if done else "warning")
    return redirect(url_for("certificates.verify", code=cert.code))
