"""Pages: members find, claim and check in; staff publish, take attendance and verify hours."""
from __future__ import annotations

import datetime as dt

from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template,
                   request, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm

from timebank.core import clock, nav
from timebank.core.access import get_or_404, is_safe_redirect, require
from timebank.core.errors import DomainError
from timebank.core.web import db_int, page_arg
from timebank.extensions import db
from timebank.posts import exports, limits, operations, qr, queries
from timebank.posts.forms import (AddSessionsForm, CancelForm, CheckinForm, KindForm,
                                  MoveSessionForm, PostForm, RejectForm, ReportForm)
from timebank.posts.models import (Claim, Post, PostCategory, PostKind, PostSession, PostStatus,
                                   RecordStatus, ServiceRecord, WaitlistEntry)
from timebank.posts.schedule import Schedule

bp = Blueprint("posts", __name__, url_prefix="/posts")
#: Ids in URLs: beyond a 32-bit integer PostgreSQL would refuse the lookup with an error.
ID = "int(min=1, max=2147483647)"
bp.record_once(lambda state: limits.init_app(state.app))

nav.register(_l("Posts"), "posts.index", lambda u: u.is_member, order=20)
nav.register(_l("My claims"), "posts.my_claims", lambda u: u.is_member, order=21)
nav.register(_l("Activity card"), "posts.card", lambda u: u.is_member, order=22)
nav.register(_l("Manage posts"), "posts.manage", lambda u: u.is_staff, order=30)
nav.register(_l("To verify"), "posts.records", lambda u: u.is_staff, order=31)


def _member():
    """The current user's member record; 403 for users who are not members (a wrong role)."""
    member = queries.member_for(current_user)
    if member is None:
        abort(403)
    return member


def _managed_post(post_id: int) -> Post:
    return get_or_404(Post, post_id, lambda p: p.can_manage(current_user))


def _managed_session(session_id: int) -> PostSession:
    return get_or_404(PostSession, session_id, lambda s: s.post.can_manage(current_user))


def _page() -> int:
    return page_arg()


def _flash_error(e: DomainError) -> None:
    db.session.rollback()
    flash(str(e.message), "danger")


# --- members: finding and claiming ------------------------------------------------------------


def _filters_from_args() -> queries.Filters:
    day = None
    if request.args.get("day"):
        try:
            day = dt.date.fromisoformat(request.args["day"])
        except ValueError:
            day = None
    return queries.Filters(
        category_id=request.args.get("category", type=db_int),
        kind_id=request.args.get("kind", type=db_int),
        skill_id=request.args.get("skill", type=db_int),
        day=day, fits=request.args.get("fits") == "1")


@bp.route("/")
def index():
    member = _member()
    filters = _filters_from_args()
    page = queries.find_posts(member, filters, _page(), current_app.config["PAGE_SIZE"] // 2)
    from timebank.members.queries import skills

    return render_template("posts/index.html", page=page, filters=filters, member=member,
                           categories=queries.categories(),
                           kinds=queries.kinds_for([member.community_id]),
                           skills=skills())


@bp.route(f"/<{ID}:post_id>")
def detail(post_id: int):
    member = queries.member_for(current_user)
    post = get_or_404(Post, post_id, lambda p: queries.can_view(current_user, p, member))
    sessions = [s for s in queries.session_list(post) if not s.cancelled]
    now = clock.now()
    return render_template(
        "posts/detail.html", post=post, member=member, now=now,
        sessions=sessions, upcoming=[s for s in sessions if s.starts_at > now],
        claimed=queries.claimed_session_ids(member, [post.id]),
        waiting=queries.waiting_session_ids(member, post.id),
        skills=_skill_names(post), can_manage=post.can_manage(current_user))


def _skill_names(post: Post) -> list[str]:
    from sqlalchemy import select

    from timebank.members.models import Skill

    ids = operations.skill_ids_of(post)
    if not ids:
        return []
    return [s.display_name for s in db.session.execute(
        select(Skill).where(Skill.id.in_(ids)).order_by(Skill.position)).scalars()]


@bp.route(f"/<{ID}:post_id>/claim", methods=["POST"])
@limits.claim_limit
def claim(post_id: int):
    member = _member()
    post = get_or_404(Post, post_id, lambda p: operations.member_may_see(member, p))
    session = None
    if request.form.get("session_id"):
        session = get_or_404(PostSession, request.form["session_id"],
                             lambda s: s.post_id == post.id)
    try:
        out = operations.claim(current_user, member, post, session=session,
                               waitlist=request.form.get("waitlist") == "1")
    except DomainError as e:
        _flash_error(e)
    else:
        db.session.commit()
        if out.claims:
            flash(_("Claimed %(n)d session(s). See you there!", n=len(out.claims)), "success")
        if out.waitlisted:
            flash(_("You are on the waiting list for %(n)d session(s); you will get a message "
                    "if a place comes free.", n=len(out.waitlisted)), "info")
        if out.full:
            flash(_("%(n)d session(s) were full and were not claimed.", n=len(out.full)),
                  "warning")
        if out.skipped:
            flash(_("%(n)d session(s) were not claimed: they clash with another of your claims "
                    "or go beyond the sessions a month in your registration form.",
                    n=len(out.skipped)), "warning")
    return redirect(url_for("posts.detail", post_id=post.id))


@bp.route(f"/claims/<{ID}:claim_id>/withdraw", methods=["POST"])
@limits.claim_limit
def withdraw(claim_id: int):
    claim_row = get_or_404(Claim, claim_id, lambda c: c.member.user_id == current_user.id
                           or c.session.post.can_manage(current_user))
    try:
        operations.withdraw(current_user, claim_row)
    except DomainError as e:
        _flash_error(e)
    else:
        db.session.commit()
        flash(_("Claim withdrawn."), "success")
    target = request.form.get("next")
    if target == "session":
        return redirect(url_for("posts.manage_session", session_id=claim_row.session_id))
    return redirect(url_for("posts.my_claims"))


@bp.route(f"/waitlist/<{ID}:entry_id>/leave", methods=["POST"])
def leave_waitlist(entry_id: int):
    entry = get_or_404(WaitlistEntry, entry_id, lambda e: e.member.user_id == current_user.id)
    operations.leave_waitlist(current_user, entry)
    db.session.commit()
    flash(_("You have left the waiting list."), "success")
    return redirect(url_for("posts.my_claims"))


@bp.route("/mine")
def my_claims():
    member = _member()
    upcoming = queries.my_claims(member, upcoming=True)
    past = queries.my_claims(member, upcoming=False, limit=50)
    records = queries.records_by_claim([c.id for c in upcoming + past])
    return render_template("posts/mine.html", member=member, upcoming=upcoming, past=past,
                           waiting=queries.my_waiting(member), records=records,
                           now=clock.now())


# --- check-in ----------------------------------------------------------------------------------


def _checkin_context(token: str):
    member = _member()
    try:
        session_id = qr.read_token(token)
    except DomainError as e:
        return member, None, None, str(e.message)
    session = db.session.get(PostSession, session_id)
    if session is None:
        return member, None, None, _("This QR code is not valid.")
    from sqlalchemy import select

    claim_row = db.session.execute(select(Claim).where(
        Claim.session_id == session.id, Claim.member_id == member.id,
        Claim.status == "active")).scalar_one_or_none()
    return member, session, claim_row, None


@bp.route("/checkin/<token>")
def checkin_page(token: str):
    _member_row, session, claim_row, error = _checkin_context(token)
    if session is not None and claim_row is None:
        error = _("You have not claimed this session.")
    record = queries.records_by_claim([claim_row.id]).get(claim_row.id) if claim_row else None
    return render_template("posts/checkin.html", token=token, session=session, claim=claim_row,
                           record=record, error=error, form=CheckinForm()), (400 if error else 200)


@bp.route("/checkin/<token>", methods=["POST"])
@limits.checkin_limit
def checkin(token: str):
    member = _member()
    form = CheckinForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        result = operations.check_in(current_user, member, token, form.action.data or None)
    except DomainError as e:
        _flash_error(e)
        return redirect(url_for("posts.checkin_page", token=token))
    db.session.commit()
    if result.action == "check_in":
        flash(_("Checked in at %(t)s.", t=clock.to_local(result.claim.checked_in_at)
                .strftime("%H:%M")), "success")
    else:
        flash(_("Checked out. %(h)s hours are waiting for the staff's verification.",
                h=_hours(result.record.minutes)), "success")
    return redirect(url_for("posts.checkin_page", token=token))


def _hours(minutes: int) -> str:
    return current_app.jinja_env.filters["hours"](minutes)


# --- members: reporting service and the activity card ------------------------------------------


@bp.route("/report", methods=["GET", "POST"])
def report_service():
    member = _member()
    form = ReportForm()
    form.kind_id.choices = [(0, "—")] + [(k.id, f"{k.category.display_name} · {k.display_name}")
                                         for k in queries.kinds_for([member.community_id])]
    if form.validate_on_submit():
        kind = db.session.get(PostKind, form.kind_id.data) if form.kind_id.data else None
        try:
            operations.report_service(
                current_user, member,
                started_at=clock.local_datetime(form.day.data, form.start_time.data),
                ended_at=clock.local_datetime(form.day.data, form.end_time.data),
                description=form.description.data, kind=kind)
        except DomainError as e:
            db.session.rollback()
            getattr(form, e.details.get("field", "description"), form.description
                    ).errors.append(str(e.message))
        else:
            db.session.commit()
            flash(_("Reported. The community staff will verify it."), "success")
            return redirect(url_for("posts.card"))
    status = 400 if request.method == "POST" else 200
    return render_template("posts/report.html", form=form), status


def _card_year() -> int | None:
    year = request.args.get("year", type=db_int)
    return year if year and 2000 <= year <= 2100 else None


@bp.route("/card")
def card():
    member = _member()
    return render_template("posts/card.html", card=queries.card(member, _card_year()),
                           year=_card_year(), own=True)


@bp.route("/card.xlsx")
def card_xlsx():
    member = _member()
    return _xlsx(queries.card(member, _card_year()))


def _viewable_member(member_id: int):
    from timebank.members.models import Member

    return get_or_404(Member, member_id, lambda m: m.can_view(current_user))


@bp.route(f"/card/<{ID}:member_id>")
def member_card(member_id: int):
    member = _viewable_member(member_id)
    return render_template("posts/card.html", card=queries.card(member, _card_year()),
                           year=_card_year(), own=member.user_id == current_user.id)


@bp.route(f"/card/<{ID}:member_id>.xlsx")
def member_card_xlsx(member_id: int):
    return _xlsx(queries.card(_viewable_member(member_id), _card_year()))


def _xlsx(card_data) -> Response:
    body = exports.card_xlsx(card_data)
    name = exports.card_filename(card_data)
    from urllib.parse import quote

    return Response(body, mimetype=exports.XLSX_MIMETYPE, headers={
        "Content-Disposition": f"attachment; filename=card.xlsx; filename*=UTF-8''{quote(name)}"})


# --- staff: publishing -------------------------------------------------------------------------


@bp.route("/manage")
def manage():
    require(current_user.is_staff)
    status = request.args.get("status")
    if status not in {s.value for s in PostStatus}:
        status = None
    page = queries.managed_posts(current_user, status, _page(), current_app.config["PAGE_SIZE"])
    stats = queries.session_stats([p.id for p in page.items])
    kind_form = _kind_form()
    return render_template("posts/manage.html", page=page, stats=stats, status=status,
                           statuses=list(PostStatus), kind_form=kind_form)


def _post_form_choices(form: PostForm, post: Post | None = None) -> None:
    from timebank.members.queries import skills

    communities = queries.managed_communities(current_user)
    if post is not None and post.community not in communities:
        communities.append(post.community)
    form.community_id.choices = [(c.id, c.full_name) for c in communities]
    grouped: dict[str, list] = {}
    for k in queries.kinds_for([c.id for c in communities]):
        grouped.setdefault(k.category.display_name, []).append((k.id, k.display_name))
    form.kind_id.choices = grouped
    form.skill_ids.choices = [(s.id, s.display_name) for s in skills()]


def _schedule_from(form: PostForm) -> Schedule:
    return Schedule(mode=form.mode.data, start_time=form.start_time.data,
                    end_time=form.end_time.data, dates_text=form.dates.data or "",
                    first_day=form.first_day.data, last_day=form.last_day.data,
                    weekdays=tuple(form.weekdays.data or ()))


def _post_data(form: PostForm) -> operations.PostData:
    deadline = None
    if form.claim_deadline.data:
        d = form.claim_deadline.data
        deadline = clock.local_datetime(d.date(), d.time())
    return operations.PostData(
        kind=db.session.get(PostKind, form.kind_id.data), title=form.title.data,
        description=form.description.data or "", place=form.place.data or "",
        skill_ids=form.skill_ids.data or [], capacity=form.capacity.data,
        minutes_credit=form.minutes_credit.data, claim_deadline=deadline,
        open_to_all=form.open_to_all.data, schedule=_schedule_from(form))


def _form_error(form: FlaskForm, e: DomainError) -> None:
    db.session.rollback()
    field = getattr(form, e.details.get("field", ""), None)
    if field is None or not hasattr(field, "errors"):
        form.form_errors.append(str(e.message))
    else:
        if not isinstance(field.errors, list):
            field.errors = list(field.errors)
        field.errors.append(str(e.message))


@bp.route("/manage/new", methods=["GET", "POST"])
def new_post():
    require(current_user.is_staff)
    form = PostForm()
    _post_form_choices(form)
    require(bool(form.community_id.choices))
    if request.method == "GET":
        form.start_time.data, form.end_time.data = dt.time(9), dt.time(11)
    if form.validate_on_submit():
        from timebank.orgs.models import OrgNode

        community = db.session.get(OrgNode, form.community_id.data)
        try:
            post = operations.create_post(current_user, community, _post_data(form))
            if request.form.get("publish") == "1":
                operations.publish(current_user, post)
        except DomainError as e:
            _form_error(form, e)
        else:
            db.session.commit()
            flash(_("Post saved."), "success")
            return redirect(url_for("posts.manage_post", post_id=post.id))
    return render_template("posts/form.html", form=form, post=None), (
        400 if request.method == "POST" else 200)


def _fill_form(form: PostForm, post: Post) -> None:
    form.community_id.data = post.community_id
    form.kind_id.data = post.kind_id
    form.title.data, form.description.data, form.place.data = (post.title, post.description,
                                                               post.place)
    form.skill_ids.data = operations.skill_ids_of(post)
    form.capacity.data, form.minutes_credit.data = post.capacity, post.minutes_credit
    if post.claim_deadline:
        form.claim_deadline.data = clock.to_local(post.claim_deadline).replace(tzinfo=None)
    form.open_to_all.data = post.open_to_all
    _fill_schedule(form, post)
    sched = post.schedule or {}
    form.dates.data = sched.get("dates_text", "")
    form.first_day.data = (dt.date.fromisoformat(sched["first_day"])
                           if sched.get("first_day") else None)
    form.last_day.data = (dt.date.fromisoformat(sched["last_day"])
                          if sched.get("last_day") else None)
    form.weekdays.data = sched.get("weekdays", [])


def _usual_times(post: Post) -> tuple[dt.time, dt.time]:
    """The times the post's sessions were given with (a line of dates may differ)."""
    sched = post.schedule or {}
    return (dt.time.fromisoformat(sched.get("start_time", "09:00")),
            dt.time.fromisoformat(sched.get("end_time", "11:00")))


def _fill_schedule(form: PostForm, post: Post) -> None:
    form.mode.data = (post.schedule or {}).get("mode", "dates")
    form.start_time.data, form.end_time.data = _usual_times(post)


@bp.route(f"/manage/<{ID}:post_id>/edit", methods=["GET", "POST"])
def edit_post(post_id: int):
    post = _managed_post(post_id)
    form = PostForm()
    _post_form_choices(form, post)
    if request.method == "GET":
        _fill_form(form, post)
    elif post.status != PostStatus.DRAFT:
        # Sessions of a published post are fixed; the form still needs valid values to pass.
        form.community_id.data = post.community_id
        _fill_schedule(form, post)
    if request.method == "POST" and form.validate_on_submit():
        try:
            data = _post_data(form)
            if post.status != PostStatus.DRAFT:
                data.minutes_credit = post.minutes_credit
            operations.update_post(current_user, post, data)
        except DomainError as e:
            _form_error(form, e)
        else:
            db.session.commit()
            flash(_("Post saved."), "success")
            return redirect(url_for("posts.manage_post", post_id=post.id))
    return render_template("posts/form.html", form=form, post=post), (
        400 if request.method == "POST" else 200)


def _post_page(post: Post, add_form: AddSessionsForm | None = None) -> str:
    if add_form is None:
        start, end = _usual_times(post)
        add_form = AddSessionsForm(formdata=None, start_time=start, end_time=end)
    return render_template("posts/manage_post.html", post=post,
                           sessions=queries.session_list(post), skills=_skill_names(post),
                           cancel_form=CancelForm(), add_form=add_form, now=clock.now())


@bp.route(f"/manage/<{ID}:post_id>")
def manage_post(post_id: int):
    return _post_page(_managed_post(post_id))


@bp.route(f"/manage/<{ID}:post_id>/sessions", methods=["POST"])
def add_sessions(post_id: int):
    post = _managed_post(post_id)
    form = AddSessionsForm()
    if form.validate_on_submit():
        try:
            added = operations.add_sessions(current_user, post, form.dates.data,
                                            form.start_time.data, form.end_time.data)
        except DomainError as e:
            _form_error(form, e)
        else:
            db.session.commit()
            flash(_("%(n)d session(s) added; members can claim them now.", n=len(added)),
                  "success")
            return redirect(url_for("posts.manage_post", post_id=post.id))
    return _post_page(post, form), 400


def _state_change(post_id: int, action, done_message: str):
    post = _managed_post(post_id)
    try:
        action(post)
    except DomainError as e:
        _flash_error(e)
    else:
        db.session.commit()
        flash(done_message, "success")
    return redirect(url_for("posts.manage_post", post_id=post.id))


@bp.route(f"/manage/<{ID}:post_id>/publish", methods=["POST"])
def publish(post_id: int):
    return _state_change(post_id, lambda p: operations.publish(current_user, p),
                         _("Published: members can claim it now."))


@bp.route(f"/manage/<{ID}:post_id>/close", methods=["POST"])
def close(post_id: int):
    return _state_change(post_id, lambda p: operations.close(current_user, p),
                         _("Closed for claims."))


@bp.route(f"/manage/<{ID}:post_id>/cancel", methods=["POST"])
def cancel(post_id: int):
    form = CancelForm()
    if not form.validate_on_submit():
        abort(400)
    return _state_change(post_id, lambda p: operations.cancel(current_user, p, form.reason.data),
                         _("Cancelled; the claimants have been told."))


def _kind_form() -> KindForm:
    form = KindForm(prefix="kind")
    form.community_id.choices = [(c.id, c.full_name)
                                 for c in queries.managed_communities(current_user)]
    form.category_id.choices = [(c.id, c.display_name) for c in queries.categories()]
    return form


@bp.route("/manage/kinds", methods=["POST"])
def add_kind():
    require(current_user.is_staff)
    form = _kind_form()
    if form.validate_on_submit():
        from timebank.orgs.models import OrgNode

        try:
            kind = operations.add_kind(current_user, db.session.get(OrgNode, form.community_id.data),
                                       db.session.get(PostCategory, form.category_id.data),
                                       form.name.data)
        except DomainError as e:
            _flash_error(e)
        else:
            db.session.commit()
            flash(_("Kind %(name)s added.", name=kind.name), "success")
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "danger")
    return redirect(url_for("posts.manage"))


# --- staff: sessions and attendance ------------------------------------------------------------


def _session_page(session: PostSession, move_form: MoveSessionForm | None = None) -> str:
    if move_form is None:
        start, end = clock.to_local(session.starts_at), clock.to_local(session.ends_at)
        move_form = MoveSessionForm(formdata=None, day=start.date(), start_time=start.time(),
                                    end_time=end.time())
    claims = queries.session_claims(session)
    url = qr.checkin_url(session)
    return render_template(
        "posts/session.html", session=session, post=session.post, claims=claims,
        records=queries.records_by_claim([c.id for c in claims]),
        waiting=queries.session_waitlist(session), checkin_url=url, qr_svg=qr.svg(url),
        started=session.has_started(), cancel_form=CancelForm(), move_form=move_form)


@bp.route(f"/manage/sessions/<{ID}:session_id>")
def manage_session(session_id: int):
    return _session_page(_managed_session(session_id))


@bp.route(f"/manage/sessions/<{ID}:session_id>/move", methods=["POST"])
def move_session(session_id: int):
    session = _managed_session(session_id)
    form = MoveSessionForm()
    if form.validate_on_submit():
        try:
            told = operations.move_session(
                current_user, session, clock.local_datetime(form.day.data, form.start_time.data),
                clock.local_datetime(form.day.data, form.end_time.data))
        except DomainError as e:
            _form_error(form, e)
        else:
            db.session.commit()
            flash(_("Session moved; %(n)d claimant(s) have been told the new time.", n=told),
                  "success")
            return redirect(url_for("posts.manage_session", session_id=session.id))
    return _session_page(session, form), 400


@bp.route(f"/manage/sessions/<{ID}:session_id>/qr.svg")
def session_qr(session_id: int):
    session = _managed_session(session_id)
    return Response(str(qr.svg(qr.checkin_url(session), scale=10)), mimetype="image/svg+xml",
                    headers={"Content-Disposition": f"inline; filename=checkin-{session.id}.svg"})


@bp.route(f"/manage/sessions/<{ID}:session_id>/attendance", methods=["POST"])
def mark_attendance(session_id: int):
    session = _managed_session(session_id)
    present = request.form.get("present") == "1"
    try:
        out = operations.mark_attendance(current_user, session,
                                         request.form.getlist("claim_ids", type=db_int), present)
    except DomainError as e:
        _flash_error(e)
    else:
        db.session.commit()
        if present:
            flash(_("%(n)d marked present; %(r)d service record(s) created for verification.",
                    n=out.changed, r=out.records), "success")
        else:
            flash(_("%(n)d marked as no-show.", n=out.changed), "success")
        if out.skipped:
            flash(_("%(n)d skipped (not active, or already reviewed).", n=out.skipped),
                  "warning")
    return redirect(url_for("posts.manage_session", session_id=session.id))


@bp.route(f"/manage/sessions/<{ID}:session_id>/cancel", methods=["POST"])
def cancel_session(session_id: int):
    session = _managed_session(session_id)
    form = CancelForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        operations.cancel_session(current_user, session, form.reason.data)
    except DomainError as e:
        _flash_error(e)
    else:
        db.session.commit()
        flash(_("Session cancelled; the claimants have been told."), "success")
    return redirect(url_for("posts.manage_post", post_id=session.post_id))


# --- staff: verifying service records ----------------------------------------------------------


@bp.route("/manage/records")
def records():
    require(current_user.is_staff)
    status = request.args.get("status", RecordStatus.PENDING.value)
    if status not in {s.value for s in RecordStatus}:
        status = RecordStatus.PENDING.value
    flagged = {"1": True, "0": False}.get(request.args.get("flagged", ""))
    page = queries.records_for_review(current_user, status, flagged, _page(),
                                      current_app.config["PAGE_SIZE"])
    return render_template("posts/records.html", page=page, status=status, flagged=flagged,
                           statuses=list(RecordStatus), reject_form=RejectForm())


def _reviewable(record_id: int) -> ServiceRecord:
    return get_or_404(ServiceRecord, record_id, lambda r: r.can_review(current_user))


@bp.route(f"/manage/records/<{ID}:record_id>/verify", methods=["POST"])
@limits.verify_limit
def verify_record(record_id: int):
    record = _reviewable(record_id)
    try:
        done = operations.verify(current_user, record,
                                 acknowledge_flags=request.form.get("acknowledge") == "1")
    except DomainError as e:
        _flash_error(e)
    else:
        db.session.commit()
        if done:
            flash(_("Verified: %(h)s hours deposited.", h=_hours(record.minutes)), "success")
        else:
            flash(_("This record was already verified."), "info")
    target = request.form.get("next")
    return redirect(target if is_safe_redirect(target) else url_for("posts.records"))


@bp.route("/manage/records/verify", methods=["POST"])
@limits.verify_limit
def verify_bulk():
    require(current_user.is_staff)
    from sqlalchemy import select

    ids = request.form.getlist("record_ids", type=db_int)
    chosen = db.session.execute(select(ServiceRecord).where(
        ServiceRecord.id.in_(ids), ServiceRecord.community_id.in_(
            queries.scope_community_ids(current_user)))
        .order_by(ServiceRecord.id)).scalars().all() if ids else []
    if not chosen:
        flash(_("Choose at least one record."), "warning")
        return redirect(url_for("posts.records"))
    try:
        out = operations.verify_many(current_user, chosen)
    except DomainError as e:
        _flash_error(e)
    else:
        db.session.commit()
        flash(_("%(n)d record(s) verified.", n=out.verified), "success")
        if out.flagged:
            flash(_("%(n)d flagged record(s) were not verified: review them one by one.",
                    n=out.flagged), "warning")
    return redirect(url_for("posts.records"))


@bp.route(f"/manage/records/<{ID}:record_id>/reject", methods=["POST"])
@limits.verify_limit
def reject_record(record_id: int):
    record = _reviewable(record_id)
    form = RejectForm()
    if not form.validate_on_submit():
        flash(_("Give a reason for the rejection."), "danger")
        return redirect(url_for("posts.records"))
    try:
        operations.reject(current_user, record, form.reason.data)
    except DomainError as e:
        _flash_error(e)
    else:
        db.session.commit()
        flash(_("Record rejected; the member has been told."), "success")
    return redirect(url_for("posts.records"))


@bp.route(f"/manage/records/<{ID}:record_id>/revoke", methods=["POST"])
@limits.verify_limit
def revoke_record(record_id: int):
    record = _reviewable(record_id)
    form = RejectForm()
    if not form.validate_on_submit():
        flash(_("Give a reason for withdrawing the verification."), "danger")
        return redirect(url_for("posts.records", status=RecordStatus.VERIFIED.value))
    try:
        done = operations.revoke(current_user, record, form.reason.data)
    except DomainError as e:
        _flash_error(e)
    else:
        db.session.commit()
        if done:
            flash(_("Verification withdrawn: %(h)s hours taken back; the member has been told.",
                    h=_hours(record.minutes)), "success")
        else:
            flash(_("This verification was already withdrawn."), "info")
    return redirect(url_for("posts.records", status=RecordStatus.VERIFIED.value))
