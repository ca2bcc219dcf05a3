"""Members' pages: find and claim posts, check in, report service, the activity card."""
from __future__ import annotations

import datetime as dt

from flask import (Response, abort, current_app, flash, redirect, render_template,
                   request, url_for)
from flask_babel import gettext as _
from flask_login import current_user

from timebank.catalogue import queries as catalogue_queries
from timebank.core import clock
from timebank.core.access import get_or_404
from timebank.core.errors import DomainError
from timebank.core.web import db_int, hours
from timebank.core.limits import export_limit
from timebank.extensions import db
from timebank.posts import exports, limits, operations, qr, queries
from timebank.posts.forms import (CheckinForm, ReportForm)
from timebank.catalogue.models import PostKind
from timebank.posts.models import (Claim, Post, PostSession, WaitlistEntry)
from timebank.posts.views.common import (ID, _flash_error, _member, _page, _skill_names,
                                          bp)


# --- members: finding and claiming ------------------------------------------------------------


#: Posts per page of the member's list and search.
PER_PAGE = 20
SCOPES = ("", "community", "street")
SORTS = ("", "start")


def _date_arg(name: str, errors: list[str]) -> dt.date | None:
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        errors.append(_("The date %(value)s is not a valid date (use YYYY-MM-DD).",
                        value=value[:20]))
        return None


def _id_arg(name: str, errors: list[str]) -> int | None:
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    try:
        number = db_int(value) if value.isdigit() else None
    except ValueError:
        number = None
    if not number:
        errors.append(_("That filter value is not valid; it was ignored."))
    return number or None


def _filters_from_args() -> tuple[queries.Filters, list[str]]:
    """The filters in the query string, and a message for each one that is not valid (which
    is then ignored: a bad link still shows the list)."""
    errors: list[str] = []
    day = _date_arg("day", errors)
    date_from, date_to = _date_arg("from", errors), _date_arg("to", errors)
    if date_from and date_to and date_from > date_to:
        errors.append(_("The start date is after the end date; the dates were ignored."))
        date_from = date_to = None
    scope = request.args.get("scope", "")
    sort = request.args.get("sort", "")
    if scope not in SCOPES or sort not in SORTS:
        errors.append(_("That filter value is not valid; it was ignored."))
        scope = scope if scope in SCOPES else ""
        sort = sort if sort in SORTS else ""
    text = (request.args.get("q") or "").strip()
    if len(text) > 100:
        errors.append(_("The search words were too long and were cut to 100 characters."))
        text = text[:100]
    filters = queries.Filters(
        category_id=_id_arg("category", errors), kind_id=_id_arg("kind", errors),
        skill_id=_id_arg("skill", errors), day=day, fits=request.args.get("fits") == "1",
        text=text, date_from=date_from, date_to=date_to, scope=scope,
        free_only=request.args.get("free") == "1", sort=sort)
    return filters, list(dict.fromkeys(errors))


@bp.route("/")
def index():
    member = _member()
    filters, errors = _filters_from_args()
    page = queries.find_posts(member, filters, _page(), PER_PAGE)
    from timebank.members.queries import skills

    return render_template("posts/index.html", page=page, filters=filters, member=member,
                           errors=errors, categories=catalogue_queries.categories(),
                           kinds=catalogue_queries.kinds_for([member.community_id]),
                           skills=skills()), (400 if errors else 200)


@bp.route(f"/<{ID}:post_id>")
def detail(post_id: int):
    member = queries.member_for(current_user)
    post = get_or_404(Post, post_id, lambda p: queries.can_view(current_user, p, member))
    sessions = [s for s in queries.session_list(post, coming_first=True) if not s.cancelled]
    now = clock.now()
    return render_template(
        "posts/detail.html", post=post, member=member, now=now,
        sessions=sessions, upcoming=[s for s in sessions if s.starts_at > now],
        claimed=queries.claimed_session_ids(member, [post.id]),
        waiting=queries.waiting_session_ids(member, post.id),
        skills=_skill_names(post), can_manage=post.can_manage(current_user),
        share_url=share_url(post))


def share_url(post: Post) -> str:
    """The link members share: the post's page (who is not logged in goes through the login
    page and lands on it)."""
    return url_for("posts.detail", post_id=post.id, _external=True)


@bp.route(f"/<{ID}:post_id>/poster.png")
@export_limit
def poster_png(post_id: int):
    from timebank.posts import poster

    post = get_or_404(Post, post_id, lambda p: queries.can_view(current_user, p))
    upcoming = operations.upcoming_sessions(post)
    if upcoming:
        first = upcoming[0]
        when = (f"{clock.to_local(first.starts_at):%Y-%m-%d %H:%M}–"
                f"{clock.to_local(first.ends_at):%H:%M}")
        if len(upcoming) > 1:
            when += " " + _("(%(n)d sessions)", n=len(upcoming))
    else:
        when = _("No upcoming session")
    try:
        body = poster.render(
            title=post.title, when=_("Time: %(when)s", when=when),
            place=_("Place: %(place)s", place=post.place or post.community.name),
            organiser=_("Organiser: %(name)s", name=post.community.name),
            link=share_url(post), heading=_("Time bank · Public-benefit post"),
            caption=_("Scan to see the post and claim it"),
            font_file=current_app.config.get("TIMEBANK_POSTER_FONT", ""))
    except poster.NoFont as e:
        return Response(str(e.message), status=e.status, mimetype="text/plain")
    return Response(body, mimetype="image/png", headers={
        "Content-Disposition": f"attachment; filename=post-{post.id}.png",
        "Cache-Control": "private, no-store"})


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
    walk_in = False
    if session is not None and claim_row is None:
        # A walk-in: offered while the session has a free place (the POST decides for real).
        walk_in = session.places_left > 0 and not session.cancelled
        if not walk_in:
            error = _("You have not claimed this session, and it has no free place left.")
    record = queries.records_by_claim([claim_row.id]).get(claim_row.id) if claim_row else None
    return render_template("posts/checkin.html", token=token, session=session, claim=claim_row,
                           record=record, error=error, form=CheckinForm(),
                           walk_in=walk_in), (400 if error else 200)


@bp.route("/checkin/<token>", methods=["POST"])
@limits.checkin_limit
def checkin(token: str):
    member = _member()
    form = CheckinForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        result = operations.check_in(current_user, member, token, form.action.data or None,
                                     walk_in=form.walk_in.data == "1")
    except DomainError as e:
        _flash_error(e)
        return redirect(url_for("posts.checkin_page", token=token))
    db.session.commit()
    if result.walked_in:
        flash(_("There was a free place: you are signed up and checked in."), "success")
    elif result.action == "check_in":
        flash(_("Checked in at %(t)s.", t=clock.to_local(result.claim.checked_in_at)
                .strftime("%H:%M")), "success")
    else:
        flash(_("Checked out. %(h)s hours are waiting for the staff's verification.",
                h=hours(result.record.minutes)), "success")
    return redirect(url_for("posts.checkin_page", token=token))


# --- members: reporting service and the activity card ------------------------------------------


@bp.route("/report", methods=["GET", "POST"])
def report_service():
    member = _member()
    form = ReportForm()
    kinds = catalogue_queries.kinds_for([member.community_id])
    form.kind_id.choices = [(0, "—")] + [(k.id, f"{k.category.display_name} · {k.display_name}")
                                         for k in kinds]
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
@export_limit
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
@export_limit
def member_card_xlsx(member_id: int):
    return _xlsx(queries.card(_viewable_member(member_id), _card_year()))


def _xlsx(card_data) -> Response:
    body = exports.card_xlsx(card_data)
    name = exports.card_filename(card_data)
    from urllib.parse import quote

    return Response(body, mimetype=exports.XLSX_MIMETYPE, headers={
        "Content-Disposition": f"attachment; filename=card.xlsx; filename*=UTF-8''{quote(name)}"})
