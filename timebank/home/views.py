"""The start page: what the logged-in user can do, by role."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from timebank.extensions import db
from timebank.members.models import Member

bp = Blueprint("home", __name__)


@bp.route("/")
def index():
    member = db.session.query(Member).filter_by(user_id=current_user.id).one_or_none()
    return render_template("home/index.html", member=member, roles=current_user.roles)
