"""The scanner page (扫码签到) and the member's personal code (我的签到码).

Members scan a session's code: the page decodes it and POSTs the text to :func:`checkin`, which
checks them in or out through ``posts.operations.check_in`` (signing a walk-in up first). Staff
pick a session they manage and scan members' personal codes: :func:`staff_checkin`, through
``posts.operations.check_in_member``. Both answer JSON: ``{"ok": true, "message": ...}`` or
``{"error": {"code": ..., "message": ...}}`` with the status of the refusal.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from timebank.core import clock, nav, settings
from timebank.core.access import get_or_404, require
from timebank.core.errors import DomainError, Invalid
from timebank.core.web import hours
from timebank.extensions import db
from timebank.members.models import Member
from timebank.posts import limits, operations, qr, queries
from timebank.posts.models import PostSession
from timebank.posts.rules import CHECKIN_MAX_DISTANCE
from timebank.scan import codes

bp = Blueprint("scan", __name__, url_prefix="/scan")
ID = "int(min=1, max=2147483647)"

nav.register(_l("Scan to check in"), "scan.index", lambda u: u.is_member or u.is_staff,
             order=23)


def _fail(e: DomainError):
    db.session.rollback()
    return jsonify({"error": {"code": e.code, "message": str(e.message)}}), e.status


def _body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise Invalid(_("The request could not be read; reload the page and scan again."))
    return data


def _action(data: dict) -> str | None:
    action = data.get("action") or None
    if action not in (None, "check_in", "check_out"):
        raise Invalid(_("Unknown action."), field="action")
    return action


def _session_json(session: PostSession) -> dict:
    start, end = clock.to_local(session.starts_at), clock.to_local(session.ends_at)
    return {"title": session.post.title,
            "when": f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}",
            "place": session.post.place or session.post.community.name}


def _message(result, name: str | None = None) -> str:
    """What the person holding the phone reads after a scan."""
    if result.action == "check_out":
        text = _("Checked out. %(h)s hours are waiting for the staff's verification.",
                 h=hours(result.record.minutes))
    elif result.walked_in:
        text = _("There was a free place: you are signed up and checked in.")
    else:
        text = _("Checked in at %(t)s.",
                 t=clock.to_local(result.claim.checked_in_at).strftime("%H:%M"))
    if name is not None:
        text = f"{name}: {text}"
    if result.far and result.action == "check_in":
        text += " " + _("The phone was about %(m)d metres from the post's place (more than "
                        "%(max)d): the staff will look at this check-in.",
                        m=result.distance_m, max=int(settings.get(CHECKIN_MAX_DISTANCE)))
    return text


def _result_json(result, name: str | None = None) -> dict:
    return {"ok": True, "action": result.action, "walked_in": result.walked_in,
            "distance_m": result.distance_m, "far": result.far,
            "message": _message(result, name), "session": _session_json(result.claim.session)}


# --- the scanner page --------------------------------------------------------------------------


@bp.route("/")
def index():
    member = queries.member_for(current_user)
    staff_mode = current_user.is_staff and (member is None or request.args.get("mode") == "staff")
    require(member is not None or staff_mode)
    if not staff_mode:
        return render_template("scan/index.html", mode="member", member=member,
                               can_staff=current_user.is_staff)
    sessions = queries.checkin_sessions(current_user, clock.now())
    chosen = None
    if request.args.get("session"):
        chosen = get_or_404(PostSession, request.args["session"],
                            lambda s: s.post.can_manage(current_user))
        if chosen not in sessions:  # from its session page, before check-in opens
            sessions.insert(0, chosen)
    elif len(sessions) == 1:
        chosen = sessions[0]
    return render_template("scan/index.html", mode="staff", member=member, sessions=sessions,
                           chosen=chosen, can_staff=True,
                           checked_in=_checked_in(chosen) if chosen else None)


def _checked_in(session: PostSession) -> tuple[int, int]:
    claims = queries.session_claims(session)
    return sum(c.checked_in_at is not None for c in claims), len(claims)


@bp.route("/checkin", methods=["POST"])
@limits.checkin_limit
def checkin():
    """A member's scan of a session's code."""
    member = queries.member_for(current_user)
    if member is None:
        abort(403)
    try:
        data = _body()
        scanned = codes.classify(data.get("code"))
        if scanned.member_code is not None:
            raise Invalid(_("This is a member's personal check-in code; the community staff "
                            "scan it. Scan the code the staff show for the session."))
        position = operations.Position.parse(data.get("latitude"), data.get("longitude"))
        result = operations.check_in(current_user, member, scanned.session_token, _action(data),
                                     walk_in=True, position=position)
    except DomainError as e:
        return _fail(e)
    body = _result_json(result)
    db.session.commit()
    return jsonify(body)


def _managed_session(session_id: int) -> PostSession:
    return get_or_404(PostSession, session_id, lambda s: s.post.can_manage(current_user))


@bp.route(f"/sessions/<{ID}:session_id>/checkin", methods=["POST"])
@limits.verify_limit
def staff_checkin(session_id: int):
    """Staff's scan of a member's personal code, for a session they manage."""
    session = _managed_session(session_id)
    try:
        data = _body()
        scanned = codes.classify(data.get("code"))
        if scanned.session_token is not None:
            raise Invalid(_("This is a session's check-in code. In staff mode, scan the "
                            "members' personal check-in codes."))
        member_id = codes.read_member_code(scanned.member_code,
                                           codes.district_id_of(session.post.community))
        member = db.session.get(Member, member_id)
        if member is None:
            raise codes.CodeInvalid()
        result = operations.check_in_member(current_user, session, member, _action(data))
    except DomainError as e:
        return _fail(e)
    body = _result_json(result, member.user.name)
    body["checked_in"], body["claimed"] = _checked_in(session)
    db.session.commit()
    return jsonify(body)


@bp.route(f"/sessions/<{ID}:session_id>/location", methods=["POST"])
def set_location(session_id: int):
    """Staff at the door make their phone's position the post's place (or clear it)."""
    session = _managed_session(session_id)
    try:
        data = _body()
        position = operations.Position.parse(data.get("latitude"), data.get("longitude"))
        operations.set_location(current_user, session.post, position)
    except DomainError as e:
        return _fail(e)
    db.session.commit()
    message = (_("This position is now the post's place: check-ins record their distance "
                 "from it.") if position else _("The post's place has been cleared."))
    return jsonify({"ok": True, "message": message})


# --- my check-in code --------------------------------------------------------------------------


def _own_member():
    member = queries.member_for(current_user)
    if member is None:
        abort(403)
    return member


@bp.route("/my-code")
def my_code():
    member = _own_member()
    _code, expires = codes.member_code(member)
    return render_template("scan/my_code.html", member=member, expires=expires,
                           lifetime=int(codes.LIFETIME.total_seconds()),
                           svg_url=url_for("scan.my_code_svg"))


@bp.route("/my-code.svg")
def my_code_svg():
    """A fresh code each time (the page reloads it before the last one expires)."""
    code, _expires = codes.member_code(_own_member())
    return Response(qr.svg_document(code, scale=8), mimetype="image/svg+xml",
                    headers={"Cache-Control": "no-store"})
