"""The start page: the work waiting for the logged-in user, one section per role they hold, the
most operational first (community staff, unit liaison, street admin, district admin, member).
A user who is only a member gets the member's home."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from timebank.accounts.models import Role
from timebank.core.access import get_or_404
from timebank.extensions import db
from timebank.home import admin, liaison, staff
from timebank.home import member as member_home
from timebank.ledger import queries as ledger
from timebank.members import operations as member_ops
from timebank.members import queries as member_queries
from timebank.members.models import Member
from timebank.members.views import STATE_LABELS
from timebank.orgs.models import OrgNode
from timebank.posts import queries as posts
from timebank.reports import exports

bp = Blueprint("home", __name__)


def _held(user) -> set[Role]:
    return {Role(ra.role) for ra in user.roles if ra.org.active}


def _member_brief(member: Member) -> dict:
    upcoming = posts.my_claims(member, upcoming=True, limit=1)
    return {"member": member, "figures": ledger.member_figures(member),
            "next_claim": upcoming[0] if upcoming else None}


@bp.route("/")
def index():
    member = db.session.query(Member).filter_by(user_id=current_user.id).one_or_none()
    roles = _held(current_user) - {Role.MEMBER}
    if member is not None and not roles:
        return member_home.render(member, current_user)
    if not roles:
        return render_template("home/index.html", member=member, roles=current_user.roles)
    return render_template(
        "home/roles.html",
        staff=staff.staff_home(current_user) if Role.COMMUNITY_STAFF in roles else None,
        staff_communities=current_user.role_nodes(Role.COMMUNITY_STAFF),
        units=liaison.liaison_homes(current_user) if Role.UNIT_LIAISON in roles else [],
        scopes=admin.admin_homes(current_user),
        failed_jobs=admin.failed_jobs() if admin.sees_jobs(current_user) else None,
        brief=_member_brief(member) if member is not None else None,
        open_needs_args=staff.open_needs_filter().as_args(),
        state_labels=STATE_LABELS, waiting_states=liaison.WAITING_STATES,
        needs_reminder=member_queries.needs_reminder,
        reporting_state=member_queries.reporting_state,
        card_title=exports.card_title, card_summary=exports.card_summary,
        state_label=exports._state_label)


@bp.route("/home/units/<int:unit_id>/members/<int:member_id>/remind", methods=["POST"])
def remind(unit_id: int, member_id: int):
    """Remind one member of the unit to finish reporting: an inbox message, at most one per
    member per day (the same rule and audit as the liaison page's reminders)."""
    unit = get_or_404(OrgNode, unit_id, lambda n: member_ops.can_liaise(current_user, n))
    member = get_or_404(Member, member_id, lambda m: m.unit_id == unit.id)
    back = redirect(url_for("home.index", _anchor=f"unit-{unit.id}"))
    name = member.user.name
    if not member_queries.needs_reminder(member):
        flash(_("%(name)s has nothing left to do: the community is reviewing the report, or it "
                "is complete.", name=name), "warning")
        return back
    if member.id in liaison.reminded_today([member.id]):
        flash(_("%(name)s was already reminded today. A member gets at most one reminder a "
                "day; you can remind them again tomorrow.", name=name), "warning")
        return back
    try:
        sent = member_ops.remind_unreported(current_user, unit, [member])
        db.session.commit()
    except IntegrityError:
        # Two presses at once: the other one sent today's reminder.
        db.session.rollback()
        sent = 0
    if sent:
        flash(_("Reminder sent to %(name)s.", name=name), "success")
    else:
        flash(_("%(name)s was already reminded today. A member gets at most one reminder a "
                "day; you can remind them again tomorrow.", name=name), "warning")
    return back
