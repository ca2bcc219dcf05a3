"""The start page: what the logged-in user can do, by role."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from timebank.extensions import db
from timebank.home import member as member_home
from timebank.members.models import Member

bp = Blueprint("home", __name__)


@bp.route("/")
def index():
    member = db.session.query(Member).filter_by(user_id=current_user.id).one_or_none()
    if member is not None and not (current_user.is_staff or current_user.is_liaison):
        return member_home.render(member, current_user)
    return render_template("home/index.html", member=member, roles=current_user.roles)
