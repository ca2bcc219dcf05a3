"""Pages for posts (skeleton; filled in below)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("posts", __name__, url_prefix="/posts")


@bp.route("/<int:post_id>")
def detail(post_id: int):
    return ""


@bp.route("/mine")
def my_claims():
    return ""


@bp.route("/card")
def card():
    return ""
