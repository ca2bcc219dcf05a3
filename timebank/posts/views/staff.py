"""Staff pages: publish posts, manage sessions and attendance, verify service records."""
from __future__ import annotations

import datetime as dt

from flask import (Response, abort, current_app, flash, redirect, render_template,
                   request, url_for)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from timebank.catalogue import operations as catalogue
from timebank.catalogue import queries as catalogue_queries
from timebank.core import clock
from timebank.core.access import get_or_404, is_safe_redirect, require
from timebank.core.errors import DomainError
from timebank.core.web import db_int, hours
from timebank.extensions import db
from timebank.posts import limits, operations, qr, queries
from timebank.posts.forms import (AddSessionsForm, CancelForm, KindForm,
                                  MoveSessionForm, PostForm, RejectForm, credit_hours,
                                  credit_minutes)
from timebank.catalogue.models import PostCategory, PostKind
from timebank.posts.models import (Post, PostSession, PostStatus, RecordStatus,
                                   ServiceRecord)
from timebank.posts.schedule import Schedule
from timebank.posts.views.common import (ID, _flash_error, _managed_post,
                                          _managed_session, _page, _skill_names, bp)


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
    for k in catalogue_queries.kinds_for([c.id for c in communities]):
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
        minutes_credit=credit_minutes(form), claim_deadline=deadline,
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
    form.capacity.data, form.hours_credit.data = post.capacity, credit_hours(post.minutes_credit)
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
                           sessions=queries.session_list(post, coming_first=True), skills=_skill_names(post),
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
    form.category_id.choices = [(c.id, c.display_name) for c in catalogue_queries.categories()]
    return form


@bp.route("/manage/kinds", methods=["POST"])
def add_kind():
    require(current_user.is_staff)
    form = _kind_form()
    if form.validate_on_submit():
        from timebank.orgs.models import OrgNode

        try:
            kind = catalogue.add_kind(current_user, db.session.get(OrgNode, form.community_id.data),
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
    return Response(qr.svg_document(qr.checkin_url(session)), mimetype="image/svg+xml",
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
            flash(_("Verified: %(h)s hours deposited.", h=hours(record.minutes)), "success")
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
                    h=hours(record.minutes)), "success")
        else:
            flash(_("This verification was already withdrawn."), "info")
    return redirect(url_for("posts.records", status=RecordStatus.VERIFIED.value))
