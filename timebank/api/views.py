"""JSON API for phone clients (e.g. a mini-program), under ``/api/v1``.

Authentication is a bearer token from ``POST /api/v1/auth/token``; a browser session cookie is
not accepted here (the API is exempt from CSRF protection, so cookies must not authorise it).
Errors are ``{"code", "message"}`` with a stable code and a message in the user's language.
The OpenAPI document at ``/api/v1/openapi.json`` describes exactly these routes.
"""
from __future__ import annotations

import datetime as dt
import os
import re

from flask import Blueprint, abort, g, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from flask_babel import gettext as _
from flask_login import current_user

from timebank.accounts import operations as accounts
from timebank.accounts.limits import login_limits
from timebank.api import operations, serializers
from timebank.api.openapi import MAX_ID, document, query_parameters
from timebank.core import clock
from timebank.core.access import get_or_404, public
from timebank.core.errors import Forbidden, Invalid
from timebank.extensions import csrf, db, login_manager
from timebank.posts import limits, queries
from timebank.posts import operations as posts
from timebank.posts.models import Claim, Post, PostSession

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
ID = f"int(min=1, max={MAX_ID})"

PUBLIC_ENDPOINTS = {"api.create_token", "api.openapi"}


def _setup(state) -> None:
    app = state.app
    limits.init_app(app)
    app.config.setdefault("API_TOKEN_DAYS", int(os.environ.get("TIMEBANK_API_TOKEN_DAYS", "30")))


bp.record_once(_setup)


@bp.before_request
def _check_query() -> None:
    """The query string holds only what the operation declares in the OpenAPI document, each
    parameter once and not empty: a typo (``?pages=2``) or ``?page=`` is refused with 400
    instead of being silently ignored, so a client learns of its mistake."""
    if request.url_rule is None:
        return
    path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", request.url_rule.rule)
    declared = query_parameters(path.removeprefix(bp.url_prefix), request.method)
    if declared is None:
        return
    for name in request.args:
        values = request.args.getlist(name)
        if name not in declared:
            raise Invalid(_("Unknown parameter %(name)s.", name=name[:40]), field=name[:40])
        if len(values) > 1:
            raise Invalid(_("%(name)s is given more than once.", name=name), field=name)
        if not values[0].strip():
            raise Invalid(_("%(name)s is empty.", name=name), field=name)


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


@login_manager.request_loader
def _load_from_token(req):
    """Bearer tokens authenticate API requests only."""
    if not req.path.startswith(bp.url_prefix + "/"):
        return None
    token, member = operations.find(_bearer())
    if token is None:
        return None
    g.api_token, g.api_member = token, member
    return token.user


@bp.before_request
def _authenticate():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if g.get("api_token") is None:
        # Logged in by a session cookie (or not at all): only a bearer token counts here.
        token, member = operations.find(_bearer())
        if token is None:
            return serializers.error(401, "unauthorized", _("Log in first."))
        g.api_token, g.api_member = token, member
        g._login_user = token.user  # flask-login's per-request user
    if request.method not in ("GET", "HEAD", "OPTIONS") and operations.touch(g.api_token):
        db.session.commit()
    return None


def commit() -> None:
    """Commit, keeping the current user's loaded attributes: the response hooks still read them
    (``is_active``), and a commit would expire them and cost a query to load them again."""
    user = current_user._get_current_object()
    db.session.flush()
    if user in db.session:
        db.session.expunge(user)
    db.session.commit()


def _body() -> dict:
    """The JSON object of the request; {} without a body. Werkzeug parses the body once per
    request and caches it; invalid JSON (too deep nesting included, see core.web.JSONProvider)
    comes back as None."""
    if not request.data:
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise Invalid(_("The body must be a JSON object."))
    return data


def _member():
    member = g.get("api_member")
    if member is None:
        raise Forbidden(_("Only members can do this."))
    return member


def _int_arg(name: str, minimum: int = 1, maximum: int = MAX_ID) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(_("%(name)s must be a whole number.", name=name), field=name) from None
    if value < minimum or (maximum is not None and value > maximum):
        raise Invalid(_("%(name)s is out of range.", name=name), field=name)
    return value


# --- auth --------------------------------------------------------------------------------------


def _failed(response) -> bool:
    return response.status_code != 201


@bp.route("/auth/token", methods=["POST"])
@public
@login_limits(_failed)
def create_token():
    data = _body()
    phone, password = data.get("phone"), data.get("password")
    if not isinstance(phone, str) or not isinstance(password, str):
        raise Invalid(_("Give phone and password."))
    user = accounts.authenticate(phone, password)
    if user is None:
        return serializers.error(401, "unauthorized", _("Wrong mobile number or password."))
    raw, token = operations.issue(user)
    accounts.record_login(user)
    body = {"token": raw, "token_type": "Bearer", "expires_at": serializers.when(token.expires_at),
            "user": {"id": user.id, "name": user.name}}
    db.session.commit()
    return jsonify(body), 201


@bp.route("/auth/token", methods=["DELETE"])
def revoke_token():
    operations.revoke(current_user, g.api_token)
    commit()
    return "", 204


# --- posts and claims --------------------------------------------------------------------------


@bp.route("/posts")
def list_posts():
    member = _member()
    day = None
    if request.args.get("date"):
        try:
            day = dt.date.fromisoformat(request.args["date"])
            clock.local_day_bounds(day)
        except ValueError:
            raise Invalid(_("date must look like 2026-12-05."), field="date") from None
        except OverflowError:
            # 0001-01-01 and 9999-12-31: the day's bounds leave the calendar; no session is
            # there, and the list only shows sessions from today on anyway.
            return jsonify({"items": [], "page": 1, "per_page": 20, "total": 0})
    # OpenAPI's boolean in a query string is the words true and false, nothing else.
    fits = request.args.get("fits", "false")
    if fits not in ("true", "false"):
        raise Invalid(_("fits must be true or false."), field="fits")
    filters = queries.Filters(category_id=_int_arg("category_id"), kind_id=_int_arg("kind_id"),
                              skill_id=_int_arg("skill_id"), day=day,
                              fits=fits == "true")
    per_page = _int_arg("per_page", 1, 100) or 20
    page = queries.find_posts(member, filters, _int_arg("page", 1, 100000) or 1, per_page)
    return jsonify({"items": [serializers.post_card(c) for c in page.items],
                    "page": page.page, "per_page": page.per_page, "total": page.total})


@bp.route(f"/posts/<{ID}:post_id>")
def get_post(post_id: int):
    member = g.get("api_member")
    post = get_or_404(Post, post_id, lambda p: queries.can_view(current_user, p, member))
    sessions = [s for s in queries.session_list(post) if not s.cancelled]
    claimed = queries.claimed_session_ids(member, [post.id])
    return jsonify(serializers.post(post, sessions, claimed))


@bp.route(f"/posts/<{ID}:post_id>/claims", methods=["POST"])
@limits.claim_limit
def create_claim(post_id: int):
    member = _member()
    data = _body()
    session_id = data.get("session_id")
    session = None
    # Absent means every session; null is not "absent" but a wrong type, as the schema says.
    if "session_id" in data:
        if type(session_id) is not int or not 1 <= session_id <= MAX_ID:
            raise Invalid(_("session_id must be a whole number."), field="session_id")
        # The session and its post in one query.
        session = db.session.execute(
            select(PostSession).where(PostSession.id == session_id,
                                      PostSession.post_id == post_id)
            .options(joinedload(PostSession.post))).scalar_one_or_none()
        if session is None:
            abort(404)
    post = get_or_404(Post, post_id, lambda p: posts.member_may_see(member, p))
    waitlist = data.get("waitlist", False)
    if not isinstance(waitlist, bool):
        raise Invalid(_("waitlist must be true or false."), field="waitlist")
    out = posts.claim(current_user, member, post, session=session, waitlist=waitlist)
    # Serialised before the commit, which expires every loaded row.
    body = {"claims": [serializers.claim(c) for c in out.claims],
            "waitlisted": [serializers.waitlist_entry(w) for w in out.waitlisted],
            "full_session_ids": [s.id for s in out.full],
            "skipped_session_ids": [s.id for s in out.skipped]}
    commit()
    return jsonify(body), 201


@bp.route(f"/claims/<{ID}:claim_id>", methods=["DELETE"])
@limits.claim_limit
def delete_claim(claim_id: int):
    member = _member()
    claim_row = get_or_404(Claim, claim_id, lambda c: c.member_id == member.id)
    posts.withdraw(current_user, claim_row)
    commit()
    return "", 204


@bp.route("/me/claims")
def my_claims():
    member = _member()
    scope = request.args.get("scope", "upcoming")
    if scope not in ("upcoming", "past"):
        raise Invalid(_("scope must be upcoming or past."), field="scope")
    claims = queries.my_claims(member, upcoming=scope == "upcoming")
    records = queries.records_by_claim([c.id for c in claims])
    return jsonify({"items": [serializers.claim(c, records.get(c.id)) for c in claims]})


@bp.route("/checkins", methods=["POST"])
@limits.checkin_limit
def checkin():
    member = _member()
    data = _body()
    token, action = data.get("token"), data.get("action")
    if not isinstance(token, str) or not token:
        raise Invalid(_("Give the token of the QR code."), field="token")
    if action is not None and action not in ("check_in", "check_out"):
        raise Invalid(_("action must be check_in or check_out."), field="action")
    walk_in = data.get("walk_in", False)
    if not isinstance(walk_in, bool):
        raise Invalid(_("walk_in must be true or false."), field="walk_in")
    # A position is the pair; one coordinate alone locates nothing and is not used (the
    # document says so), rather than refusing a check-in the schema allows.
    lat, lng = data.get("latitude"), data.get("longitude")
    position = posts.Position.parse(lat, lng) if lat is not None and lng is not None else None
    result = posts.check_in(current_user, member, token, action, walk_in=walk_in,
                            position=position)
    body = {"action": result.action, "claim": serializers.claim(result.claim, result.record),
            "record": serializers.record(result.record) if result.record else None,
            "walked_in": result.walked_in, "distance_m": result.distance_m, "far": result.far}
    commit()
    return jsonify(body)


# --- the member's account ----------------------------------------------------------------------


@bp.route("/me/account")
def my_account():
    from timebank import measures
    from timebank.api.serializers import hours_number
    from timebank.ledger.queries import member_figures

    member = _member()
    figures = member_figures(member)
    service = measures.verified_service_minutes(member=member)
    historical = measures.historical_minutes(member=member)
    return jsonify({
        "member": {"id": member.id, "name": member.user.name, "status": member.status,
                   "community_code": member.community.code},
        "balance_minutes": figures.balance_minutes, "service_minutes": service,
        "historical_minutes": historical,
        "balance_hours": hours_number(figures.balance_minutes),
        "service_hours": hours_number(service), "historical_hours": hours_number(historical)})


@bp.route("/me/statement")
def my_statement():
    from timebank.ledger.queries import statement

    member = _member()
    page = statement(member, _int_arg("page", 1, 100000) or 1,
                     _int_arg("per_page", 1, 100) or 20)
    return jsonify({"items": [serializers.entry(e) for e in page.items], "page": page.page,
                    "per_page": page.per_page, "total": page.total})


@bp.route("/openapi.json")
@public
def openapi():
    return jsonify(document())
