"""Matching pages: staff review and decide proposals, run the matcher for their scope and ask
for volunteers for a post short of people; members see posts recommended for them; district
admins set the cost weights."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from timebank.core import nav
from timebank.core.access import get_or_404, is_safe_redirect, require
from timebank.core.errors import DomainError
from timebank.core.web import page_arg
from timebank.extensions import db
from timebank.lists.queries import managed_communities, member_of
from timebank.matching import operations, queries, rules
from timebank.matching.forms import RunForm, field_name, settings_form_class
from timebank.matching.models import PROPOSAL_STATUS_LABELS, Proposal, ProposalKind, RunOrigin
from timebank.members.models import WEEKDAY_LABELS
from timebank.orgs.models import OrgNode
from timebank.posts.models import Post

bp = Blueprint("matching", __name__, url_prefix="/matching")
ID = "int(min=1, max=2147483647)"

nav.register(_l("Matching"), "matching.index", lambda u: u.is_staff, order=45)
nav.register(_l("Recommended for you"), "matching.recommended", lambda u: u.is_member, order=23)

TIER_LABELS = {"grid": _l("Same grid"), "community": _l("Same community"),
               "street": _l("Same street"), "district": _l("Elsewhere in the district")}


# A global, not a context processor: imported macros (the reasons) see globals only.
SLOT_LABELS = {"morning": _l("in the morning"), "afternoon": _l("in the afternoon"),
               "evening": _l("in the evening")}

bp.record_once(lambda state: state.app.jinja_env.globals.update(match_labels={
    "tier": TIER_LABELS, "weekday": WEEKDAY_LABELS, "slot": SLOT_LABELS}))


def _back(default: str):
    target = request.form.get("next")
    return redirect(target if is_safe_redirect(target) else default)


def _scope_choices() -> list[tuple[int, str]]:
    """The user's scope roots (street or district) and every community in them."""
    nodes = {n.id: n for n in current_user.scope_roots()}
    for c in managed_communities(current_user):
        nodes.setdefault(c.id, c)
    return [(n.id, f"{n.org_kind.label} · {n.full_name or n.name}")
            for n in sorted(nodes.values(), key=lambda n: n.path)]


@bp.route("/")
def index():
    require(current_user.is_staff)
    f = queries.ProposalFilter.from_args(request.args)
    page = db.paginate(queries.proposals(current_user, f),
                       page=page_arg(),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    form = RunForm()
    form.scope_id.choices = _scope_choices()
    return render_template("matching/index.html", page=page, f=f, run_form=form,
                           runs=queries.recent_runs(current_user),
                           counts=queries.counts(current_user),
                           short=queries.short_sessions(current_user),
                           communities=managed_communities(current_user),
                           statuses=PROPOSAL_STATUS_LABELS, kinds=list(ProposalKind),
                           can_settings=operations.can_edit_settings(current_user))


@bp.route("/run", methods=["POST"])
def run():
    require(current_user.is_staff)
    form = RunForm()
    form.scope_id.choices = _scope_choices()
    if not form.validate_on_submit():
        flash(_("Choose where to run the matcher."), "danger")
        return redirect(url_for("matching.index"))
    # The choices hold only nodes the user manages: a guessed id failed validation above.
    scope = db.session.get(OrgNode, form.scope_id.data)
    try:
        result = operations.run_matching(current_user, scope, origin=RunOrigin.WEB)
    except DomainError as e:
        db.session.rollback()
        flash(str(e.message), "danger")
    else:
        db.session.commit()
        flash(_("Matcher run: %(n)d proposals from %(c)d candidates (%(posts)d volunteer, "
                "%(demands)d resource).", n=result.proposals, c=result.candidates,
                posts=result.post_filled, demands=result.demand_filled), "success")
    return redirect(url_for("matching.index"))


def _decide(proposal_id: int, decide, done: str):
    p = get_or_404(Proposal, proposal_id, lambda p: p.can_decide(current_user))
    try:
        decide(current_user, p)
    except DomainError as e:
        db.session.rollback()
        flash(str(e.message), "danger")
    else:
        db.session.commit()
        flash(done, "success")
    return _back(url_for("matching.index"))


@bp.route(f"/proposals/<{ID}:proposal_id>/accept", methods=["POST"])
def accept(proposal_id: int):
    return _decide(proposal_id, operations.accept, _("Accepted."))


@bp.route(f"/proposals/<{ID}:proposal_id>/reject", methods=["POST"])
def reject(proposal_id: int):
    return _decide(proposal_id, operations.reject,
                   _("Rejected; this pair will not be proposed again."))


@bp.route("/proposals/decide", methods=["POST"])
def decide_many():
    require(current_user.is_staff)
    action = request.form.get("action", "")
    chosen = queries.proposals_in_scope(current_user, [
        i for i in request.form.getlist("ids") if i.isdigit()])
    if not chosen or action not in ("accept", "reject"):
        flash(_("Choose proposals and an action."), "warning")
        return _back(url_for("matching.index"))
    try:
        out = operations.decide_many(current_user, chosen, action)
    except DomainError as e:
        db.session.rollback()
        flash(str(e.message), "danger")
        return _back(url_for("matching.index"))
    db.session.commit()
    flash(_("%(n)d proposal(s) decided.", n=out.done), "success")
    for pid, message in out.failed[:10]:
        flash(_("Proposal %(id)d: %(msg)s", id=pid, msg=message), "warning")
    return _back(url_for("matching.index"))


@bp.route(f"/posts/<{ID}:post_id>/suggest")
def suggest(post_id: int):
    post = get_or_404(Post, post_id, lambda p: p.can_manage(current_user))
    return render_template("matching/suggest.html", post=post,
                           rows=queries.suggest_volunteers(post))


@bp.route(f"/posts/<{ID}:post_id>/suggest", methods=["POST"])
def propose_for_post(post_id: int):
    post = get_or_404(Post, post_id, lambda p: p.can_manage(current_user))
    try:
        result = operations.run_matching(current_user, post.community, origin=RunOrigin.SUGGEST,
                                         post_ids=[post.id])
    except DomainError as e:
        db.session.rollback()
        flash(str(e.message), "danger")
        return redirect(url_for("matching.suggest", post_id=post.id))
    db.session.commit()
    flash(_("%(n)d proposal(s) stored for this post.", n=result.post_filled), "success")
    return redirect(url_for("matching.index", post=post.id))


@bp.route("/recommended")
def recommended():
    member = member_of(current_user)
    require(member is not None)
    return render_template("matching/recommended.html", member=member,
                           recs=queries.recommended_posts(member))


@bp.route("/settings", methods=["GET", "POST"])
def settings_page():
    require(operations.can_edit_settings(current_user))
    form = settings_form_class()()
    current = {k: v for k, v in _stored_values().items()}
    if request.method == "GET":
        for key, value in current.items():
            getattr(form, field_name(key)).data = value
    if form.validate_on_submit():
        values = {key: getattr(form, field_name(key)).data for key in rules.KEYS}
        try:
            changed = operations.update_settings(current_user, values)
        except DomainError as e:
            db.session.rollback()
            field = getattr(form, field_name(e.details.get("field", "")), None)
            (field.errors if field is not None else form.form_errors).append(str(e.message))
        else:
            db.session.commit()
            flash(_("%(n)d setting(s) changed.", n=len(changed)), "success")
            return redirect(url_for("matching.settings_page"))
    status = 400 if request.method == "POST" else 200
    from timebank.core import settings

    defaults = {k: settings.REGISTRY[k].default for k in rules.KEYS}
    return render_template("matching/settings.html", form=form, keys=rules.KEYS,
                           field_name=field_name, defaults=defaults), status


def _stored_values() -> dict[str, int]:
    from timebank.core import settings

    return {k: settings.get(k) for k in rules.KEYS}
