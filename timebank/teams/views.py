"""Team pages: staff list and create their communities' teams and enrol or remove members; a
member sees their teams (我的服务队) and each team's page; the leader claims places for the team.
Load, check, act: a team outside the user's communities (and not theirs) answers 404."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from timebank.core import nav
from timebank.core.access import get_or_404, require
from timebank.core.errors import DomainError
from timebank.core.web import db_int, page_arg
from timebank.extensions import db
from timebank.members.models import Member
from timebank.orgs.models import OrgNode
from timebank.posts.models import PostSession
from timebank.teams import operations, queries
from timebank.teams.forms import EnrolForm, TeamClaimForm, TeamForm
from timebank.teams.models import KIND_LABELS, Team, TeamMembership

bp = Blueprint("teams", __name__, url_prefix="/teams")

nav.register(_l("My teams"), "teams.mine", lambda u: u.is_member, order=24)
nav.register(_l("Volunteer teams"), "teams.index", lambda u: u.is_staff, order=34)


def _field_error(form, e: DomainError, default: str) -> None:
    field = getattr(form, e.details.get("field", default), None) or getattr(form, default)
    field.errors = list(field.errors) + [str(e.message)]


def _team(team_id) -> Team:
    return get_or_404(Team, team_id, lambda t: queries.may_see(t, current_user))


def _managed_team(team_id) -> Team:
    """A team the user may see; 403 if they see it (a member) but do not manage it."""
    team = _team(team_id)
    require(team.can_manage(current_user))
    return team


def _membership(team: Team, membership_id) -> TeamMembership:
    return get_or_404(TeamMembership, membership_id, lambda m: m.team_id == team.id)


@bp.route("/")
def index():
    require(current_user.is_staff)
    kind = request.args.get("kind", "")
    kind = kind if kind in {k.value for k in KIND_LABELS} else ""
    page = db.paginate(queries.managed_teams(current_user, kind), page=page_arg(),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    counts = queries.member_counts(t.id for t in page.items)
    return render_template("teams/index.html", page=page, counts=counts, kind=kind,
                           kind_labels=KIND_LABELS)


@bp.route("/mine")
def mine():
    member = queries.member_of(current_user)
    require(member is not None)
    rows = queries.my_memberships(member)
    counts = queries.member_counts(m.team_id for m in rows)
    return render_template("teams/mine.html", rows=rows, counts=counts)


def _leader_member(form: TeamForm) -> Member | None:
    member = queries.candidates_by_phone(form.leader_phone.data)
    if member is None:
        form.leader_phone.errors = list(form.leader_phone.errors) + [
            _("No member has this mobile number.")]
    return member


@bp.route("/new", methods=["GET", "POST"])
def new():
    require(current_user.is_staff)
    owners = queries.owner_choices(current_user)
    require(bool(owners))
    form = TeamForm()
    form.owner_id.choices = [(n.id, n.full_name) for n in owners]
    if form.validate_on_submit():
        leader = _leader_member(form)
        if leader is not None:
            try:
                team = operations.create_team(
                    current_user, db.session.get(OrgNode, form.owner_id.data), form.name.data,
                    form.kind.data, leader, form.specialties.data or "")
            except DomainError as e:
                db.session.rollback()
                _field_error(form, e, "name")
            else:
                db.session.commit()
                flash(_("Team created. Enrol its members below."), "success")
                return redirect(url_for("teams.detail", team_id=team.id))
    return render_template("teams/new.html", form=form), (
        400 if request.method == "POST" else 200)


def _render(team: Team, status: int = 200, enrol_form: EnrolForm | None = None):
    manages = team.can_manage(current_user)
    leader = operations.leader_of(team)
    return render_template(
        "teams/detail.html", team=team, manages=manages, leader=leader,
        is_leader=leader is not None and leader.user_id == current_user.id,
        current=queries.memberships(team), past=queries.memberships(team, current=False),
        figures=queries.figures(team), claims=queries.team_claims(team),
        enrol_form=enrol_form or (EnrolForm() if manages else None)), status


@bp.route("/<int:team_id>")
def detail(team_id: int):
    return _render(_team(team_id))


@bp.route("/<int:team_id>/members", methods=["POST"])
def enrol(team_id: int):
    team = _managed_team(team_id)
    form = EnrolForm()
    if form.validate_on_submit():
        member = queries.candidates_by_phone(form.phone.data)
        if member is None:
            form.phone.errors = list(form.phone.errors) + [_("No member has this mobile number.")]
        else:
            try:
                operations.enrol(current_user, team, member, joined_on=form.joined_on.data)
            except DomainError as e:
                db.session.rollback()
                _field_error(form, e, "phone")
            else:
                db.session.commit()
                flash(_("%(name)s joined the team.", name=member.name), "success")
                return redirect(url_for("teams.detail", team_id=team.id))
    return _render(team, 400, enrol_form=form)


def _membership_action(team_id: int, membership_id: int, action, done: str):
    team = _managed_team(team_id)
    membership = _membership(team, membership_id)
    try:
        action(membership)
    except DomainError as e:
        db.session.rollback()
        flash(str(e.message), "danger")
    else:
        db.session.commit()
        flash(done, "success")
    return redirect(url_for("teams.detail", team_id=team.id))


@bp.route("/<int:team_id>/members/<int:membership_id>/remove", methods=["POST"])
def remove(team_id: int, membership_id: int):
    return _membership_action(team_id, membership_id,
                              lambda m: operations.remove(current_user, m),
                              _("The member has left the team."))


@bp.route("/<int:team_id>/members/<int:membership_id>/leader", methods=["POST"])
def make_leader(team_id: int, membership_id: int):
    return _membership_action(team_id, membership_id,
                              lambda m: operations.set_leader(current_user, m),
                              _("The team has a new leader."))


@bp.route("/<int:team_id>/active", methods=["POST"])
def set_active(team_id: int):
    team = _managed_team(team_id)
    operations.set_active(current_user, team, request.form.get("active") == "1")
    db.session.commit()
    flash(_("The team is active again.") if team.active else _("The team is now inactive."),
          "success")
    return redirect(url_for("teams.detail", team_id=team.id))


@bp.route("/<int:team_id>/claim", methods=["GET", "POST"])
def claim(team_id: int):
    team = _team(team_id)
    leader = operations.leader_of(team)
    require(leader is not None and leader.user_id == current_user.id)
    sessions = queries.claimable_sessions(team)
    current = queries.memberships(team)
    form = TeamClaimForm()
    form.session_id.choices = [(s.id, _session_label(s)) for s in sessions]
    form.member_ids.choices = [(m.member_id, m.member.name) for m in current]
    if request.method == "GET" and request.args.get("session", type=db_int):
        form.session_id.data = request.args.get("session", type=db_int)
    if form.validate_on_submit():
        session = db.session.get(PostSession, form.session_id.data)
        by_id = {m.member_id: m.member for m in current}
        members = [by_id[i] for i in form.member_ids.data]
        try:
            row = operations.team_claim(current_user, team, session, members)
        except DomainError as e:
            db.session.rollback()
            _field_error(form, e, "session_id")
        else:
            db.session.commit()
            flash(_("Claimed %(n)d place(s) for the team in %(title)s.", n=len(row.places),
                    title=session.post.title), "success")
            return redirect(url_for("teams.detail", team_id=team.id))
    return render_template("teams/claim.html", team=team, form=form, sessions=sessions), (
        400 if request.method == "POST" else 200)


def _session_label(s: PostSession) -> str:
    from timebank.core import clock

    return _("%(title)s · %(when)s · %(left)d place(s) left", title=s.post.title,
             when=clock.to_local(s.starts_at).strftime("%Y-%m-%d %H:%M"),
             left=s.capacity - s.claimed)
