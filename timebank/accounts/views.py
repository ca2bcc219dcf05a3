"""Login, logout, language and the user's own account page."""
from __future__ import annotations

from flask import (Blueprint, current_app, flash, make_response, redirect, render_template,
                   request, session, url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from timebank.accounts import operations
from timebank.accounts.forms import LoginForm, PasswordForm
from timebank.accounts.limits import login_limits
from timebank.accounts.models import User
from timebank.core.access import is_safe_redirect, public
from timebank.core.errors import DomainError
from timebank.extensions import db

bp = Blueprint("auth", __name__)


def load_user(user_id: str) -> User | None:
    try:
        uid, version = (int(x) for x in user_id.split(":", 1))
    except ValueError:
        return None
    user = db.session.get(User, uid)
    if user is None or user.session_version != version or not user.active:
        return None
    return user


def _login_failed(response) -> bool:
    """Only failed attempts count towards the throttle (a success redirects)."""
    return request.method == "POST" and response.status_code != 302


@bp.route("/auth/login", methods=["GET", "POST"])
@public
@login_limits(_login_failed)
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        user = operations.authenticate(form.phone.data, form.password.data)
        if user is None:
            # One message whether the phone is unknown or the password wrong.
            flash(_("Wrong mobile number or password."), "danger")
        else:
            target = form.next.data if is_safe_redirect(form.next.data) else url_for("home.index")
            lang = session.get("lang")
            session.clear()  # a fresh session: nothing from before login carries over
            login_user(user)
            operations.record_login(user)
            db.session.commit()
            if lang:
                session["lang"] = lang
            return redirect(target)
    return render_template("auth/login.html", form=form), (200 if request.method == "GET" else 400)


@bp.route("/auth/logout", methods=["POST"])
@public
def logout():
    if current_user.is_authenticated:
        # The session is a signed cookie: clearing it here does not stop a copy of it, a new
        # session version does (every browser session of the user ends).
        operations.end_sessions(current_user)
        db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/logout-everywhere", methods=["POST"])
def logout_everywhere():
    """End every browser session and revoke every API token of the user (退出所有设备)."""
    operations.revoke_credentials(current_user, current_user)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have logged out on all devices."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/lang/<code>", methods=["POST"])
@public
def set_language(code: str):
    target = request.form.get("next")
    response = make_response(redirect(target if is_safe_redirect(target) else url_for("home.index")))
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie("lang", code, max_age=365 * 86400, samesite="Lax",
                            secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True)
    return response


@bp.route("/account", methods=["GET", "POST"])
def account():
    form = PasswordForm()
    if form.validate_on_submit():
        if operations.authenticate(current_user.phone, form.current.data) is None:
            form.current.errors.append(_("The current password is wrong."))
        else:
            try:
                operations.set_password(current_user, current_user, form.new.data)
            except DomainError as e:
                form.new.errors.append(str(e.message))
            else:
                db.session.commit()
                login_user(current_user._get_current_object())  # new session version
                flash(_("Your password has been changed."), "success")
                return redirect(url_for("auth.account"))
    return render_template("auth/account.html", form=form)
