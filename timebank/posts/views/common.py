"""The posts blueprint, its navigation entries and the helpers its pages share."""
from __future__ import annotations

from flask import Blueprint, abort, flash
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from timebank.core import nav
from timebank.core.access import get_or_404
from timebank.core.errors import DomainError
from timebank.core.web import page_arg
from timebank.extensions import db
from timebank.posts import limits, operations, queries
from timebank.posts.models import Post, PostSession

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


def _skill_names(post: Post) -> list[str]:
    from sqlalchemy import select

    from timebank.members.models import Skill

    ids = operations.skill_ids_of(post)
    if not ids:
        return []
    return [s.display_name for s in db.session.execute(
        select(Skill).where(Skill.id.in_(ids)).order_by(Skill.position)).scalars()]
