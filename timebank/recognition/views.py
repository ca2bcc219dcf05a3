"""Rankings, star levels and annual awards (pages; writes go through ``operations``)."""
from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
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
from timebank.core.web import db_int, page_arg
from timebank.extensions import db
from timebank.recognition import ledger_checks  # noqa: F401  (connects to ledger verify)
from timebank.members.models import Member
from timebank.orgs.models import OrgNode
from timebank.recognition import exports, operations, queries, rules
from timebank.recognition.forms import (
    DrawForm,
    ObjectionForm,
    RemoveForm,
    ResolveForm,
    ThresholdsForm,
)
from timebank.recognition.models import (
    AWARD_KINDS,
    AwardList,
    AwardNominee,
    AwardObjection,
    NomineeStatus,
    ObjectionStatus,
    member_of,
)

bp = Blueprint("recognition", __name__, url_prefix="/recognition")


def _sees_rankings(user) -> bool:
    return user.is_staff or user.is_liaison


nav.register(_l("Rankings"), "recognition.rankings", _sees_rankings, order=70)
nav.register(_l("Awards"), "recognition.awards", lambda u: True, order=71)


def _year_arg() -> int:
    this_year = clock.today().year
    year = request.args.get("year", this_year, type=db_int)
    return year if 2000 <= year <= this_year + 1 else this_year


def _scope_arg() -> tuple[OrgNode, list[OrgNode]]:
    scopes = queries.ranking_scopes(current_user)
    require(bool(scopes))
    scope_id = request.args.get("scope", type=db_int)
    if scope_id is None:
        return scopes[0], scopes
    scope = next((s for s in scopes if s.id == scope_id), None)
    if scope is None:
        abort(404)
    return scope, scopes


# --- rankings ------------------------------------------------------------------------------------

@bp.route("/rankings")
def rankings():
    require(_sees_rankings(current_user))
    scope, scopes = _scope_arg()
    year = _year_arg()
    per_page = current_app.config["PAGE_SIZE"]
    page = page_arg()
    ranking = queries.ranking(scope, year, limit=per_page, offset=(page - 1) * per_page)
    pages = max(1, -(-ranking.total // per_page))
    return render_template("recognition/rankings.html", ranking=ranking, scope=scope,
                           scopes=scopes, year=year, page=page, pages=pages,
                           years=range(clock.today().year, clock.today().year - 6, -1))


@bp.route("/rankings.xlsx")
@export_limit
def rankings_xlsx():
    require(_sees_rankings(current_user))
    scope, _scopes = _scope_arg()
    year = _year_arg()
    data = exports.ranking_xlsx(queries.ranking(scope, year))
    return _xlsx(data, f"ranking-{scope.code}-{year}.xlsx")


def _xlsx(data: bytes, filename: str) -> Response:
    return Response(data, mimetype=exports.XLSX_MIMETYPE, headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


# --- star levels ---------------------------------------------------------------------------------

def _is_district_admin(user) -> bool:
    return user.has_role(Role.DISTRICT_ADMIN)


@bp.route("/stars", methods=["GET", "POST"])
def stars():
    require(_is_district_admin(current_user))
    thresholds = rules.star_thresholds()
    form = ThresholdsForm(data={"thresholds": ", ".join(str(h) for h in thresholds)})
    status = 200
    if form.validate_on_submit():
        values = [v for v in form.thresholds.data.replace("，", ",").split(",") if v.strip()]
        try:
            operations.set_star_thresholds(current_user, [v.strip() for v in values])
        except DomainError as e:
            db.session.rollback()
            form.thresholds.errors.append(str(e.message))
            status = 400
        else:
            db.session.commit()
            flash(_("Star thresholds saved."), "success")
            return redirect(url_for("recognition.stars"))
    elif request.method == "POST":
        status = 400
    return render_template("recognition/stars.html", form=form, thresholds=thresholds), status


@bp.route("/members/<int:member_id>")
def member(member_id: int):
    m = get_or_404(Member, member_id, lambda m: m.can_view(current_user))
    year = _year_arg()
    return render_template("recognition/member.html", member=m, star=queries.member_star(m),
                           thresholds=rules.star_thresholds(), year=year,
                           ranks=queries.member_ranks(m, year))


@bp.route("/me")
def me():
    m = member_of(current_user)
    if m is None:
        abort(404)
    return redirect(url_for("recognition.member", member_id=m.id))


# --- award lists -----------------------------------------------------------------------------

def _draw_form(form: DrawForm | None = None) -> DrawForm | None:
    scopes = queries.organiser_scopes(current_user)
    if not scopes:
        return None
    form = form or DrawForm(data={"year": clock.today().year - (clock.today().month < 7)})
    form.kind.choices = [(k.code, str(k.label)) for k in AWARD_KINDS.values()]
    form.scope_id.choices = [(s.id, f"{s.full_name or s.name} ({s.org_kind.label})")
                             for s in scopes]
    return form


@bp.route("/awards")
def awards():
    page = db.paginate(queries.lists_for(current_user),
                       page=page_arg(),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    is_member = member_of(current_user) is not None
    return render_template("recognition/awards.html", page=page, form=_draw_form(),
                           is_member=is_member)


@bp.route("/awards", methods=["POST"])
def draw():
    form = _draw_form(DrawForm())
    require(form is not None)
    if form.validate_on_submit():
        scope = db.session.get(OrgNode, form.scope_id.data)
        try:
            award_list = operations.draw_list(current_user, form.year.data, form.kind.data,
                                              scope, form.top_n.data)
        except DomainError as e:
            db.session.rollback()
            getattr(form, e.details.get("field", "kind"), form.kind).errors.append(
                str(e.message))
        else:
            db.session.commit()
            flash(_("Nomination list drawn from the ranking. Check it, then publish it for "
                    "the public notice."), "success")
            return redirect(url_for("recognition.award", list_id=award_list.id))
    page = db.paginate(queries.lists_for(current_user), page=1,
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("recognition/awards.html", page=page, form=form,
                           is_member=False), 400


def _list_or_404(list_id: int) -> AwardList:
    return get_or_404(AwardList, list_id, lambda a: a.can_view(current_user))


def _render_award(award_list: AwardList, objection_form=None, status: int = 200):
    organiser = award_list.can_organise(current_user)
    nominees = queries.all_nominees(award_list)
    active = [n for n in nominees if n.status == NomineeStatus.NOMINATED]
    member = member_of(current_user)
    may_object = award_list.notice_open() and award_list.in_scope(member)
    if may_object:
        objection_form = objection_form or ObjectionForm()
        objection_form.nominee_id.choices = [(n.id, f"{n.rank}. {n.name}") for n in active]
    else:
        objection_form = None
    objections = queries.objections(award_list, None if organiser else current_user)
    return render_template(
        "recognition/award.html", award_list=award_list, nominees=nominees, active=active,
        organiser=organiser, objections=objections, objection_form=objection_form,
        resolve_forms={o.id: ResolveForm(prefix=f"o{o.id}") for o in objections
                       if organiser and o.status == ObjectionStatus.OPEN},
        now=clock.now(),
        open_objections=sum(1 for o in objections if o.status == ObjectionStatus.OPEN),
    ), status


@bp.route("/awards/<int:list_id>")
def award(list_id: int):
    return _render_award(_list_or_404(list_id))


@bp.route("/awards/<int:list_id>.xlsx")
@export_limit
def award_xlsx(list_id: int):
    award_list = _list_or_404(list_id)
    nominees = (queries.all_nominees(award_list) if award_list.can_organise(current_user)
                else queries.active_nominees(award_list))
    return _xlsx(exports.award_list_xlsx(award_list, nominees),
                 f"award-{award_list.year}-{award_list.kind}-{award_list.scope.code}.xlsx")


def _organised_list(list_id: int) -> AwardList:
    award_list = _list_or_404(list_id)
    require(award_list.can_organise(current_user))
    return award_list


def _refused(award_list: AwardList, message: str, status: int):
    flash(message, "danger")
    return _render_award(award_list, status=status)


def _act(award_list: AwardList, action, success: str):
    try:
        action()
    except DomainError as e:
        db.session.rollback()
        return _refused(award_list, str(e.message), e.status)
    db.session.commit()
    flash(success, "success")
    return redirect(url_for("recognition.award", list_id=award_list.id))


@bp.route("/awards/<int:list_id>/publish", methods=["POST"])
def publish(list_id: int):
    award_list = _organised_list(list_id)
    return _act(award_list, lambda: operations.publish(current_user, award_list),
                _("Published for the public notice."))


@bp.route("/awards/<int:list_id>/freeze", methods=["POST"])
def freeze(list_id: int):
    award_list = _organised_list(list_id)
    return _act(award_list, lambda: operations.freeze(current_user, award_list),
                _("The final list is frozen."))


@bp.route("/awards/<int:list_id>/delete", methods=["POST"])
def delete(list_id: int):
    award_list = _organised_list(list_id)
    try:
        operations.delete_draft(current_user, award_list)
    except DomainError as e:
        db.session.rollback()
        return _refused(award_list, str(e.message), e.status)
    db.session.commit()
    flash(_("Draft deleted."), "success")
    return redirect(url_for("recognition.awards"))


@bp.route("/awards/<int:list_id>/nominees/<int:nominee_id>/remove", methods=["POST"])
def remove_nominee(list_id: int, nominee_id: int):
    award_list = _organised_list(list_id)
    nominee = get_or_404(AwardNominee, nominee_id, lambda n: n.list_id == award_list.id)
    form = RemoveForm()
    if not form.validate_on_submit():
        return _refused(award_list, _("Give a reason for removing the nominee."), 400)
    return _act(award_list,
                lambda: operations.remove_nominee(current_user, nominee, form.reason.data),
                _("Nominee removed."))


@bp.route("/awards/<int:list_id>/objections", methods=["POST"])
def object_(list_id: int):
    award_list = _list_or_404(list_id)
    member = member_of(current_user)
    require(award_list.in_scope(member))
    form = ObjectionForm()
    form.nominee_id.choices = [(n.id, n.name) for n in queries.active_nominees(award_list)]
    if form.validate_on_submit():
        nominee = get_or_404(AwardNominee, form.nominee_id.data,
                             lambda n: n.list_id == award_list.id)
        try:
            operations.file_objection(current_user, award_list, nominee, form.reason.data)
        except DomainError as e:
            db.session.rollback()
            getattr(form, e.details.get("field", "reason"), form.reason).errors.append(
                str(e.message))
        else:
            db.session.commit()
            flash(_("Your objection was filed. The organisers will answer it."), "success")
            return redirect(url_for("recognition.award", list_id=list_id))
    return _render_award(award_list, objection_form=form, status=400)


@bp.route("/awards/<int:list_id>/objections/<int:objection_id>/resolve", methods=["POST"])
def resolve(list_id: int, objection_id: int):
    award_list = _organised_list(list_id)
    objection = get_or_404(AwardObjection, objection_id, lambda o: o.list_id == award_list.id)
    form = ResolveForm(prefix=f"o{objection.id}")
    if not form.validate_on_submit():
        return _refused(award_list, _("Choose a decision and explain it."), 400)
    return _act(award_list,
                lambda: operations.resolve_objection(current_user, objection,
                                                     form.decision.data == "uphold",
                                                     form.note.data),
                _("Objection resolved."))


@bp.app_template_global()
def star_level_of(member_id: int) -> int:
    """For other features' pages (e.g. the member page): the member's current star level."""
    return queries.member_star(member_id).level



@bp.app_template_global()
def rank_historical() -> bool:
    """Whether rankings and star levels count historical hours (a setting; off by default)."""
    from timebank.recognition import rules

    return rules.rank_historical()
