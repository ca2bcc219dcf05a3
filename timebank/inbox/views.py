from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from timebank.core import nav
from timebank.core.access import get_or_404, is_safe_redirect
from timebank.core.web import page_arg
from timebank.extensions import db
from timebank.inbox import operations, queries
from timebank.inbox.models import Message

bp = Blueprint("inbox", __name__, url_prefix="/inbox")


@bp.app_context_processor
def unread_badge():
    """``unread_count`` for the navigation badge on every page (registered here, so the core
    layer does not reach up into the inbox)."""
    return {"unread_count": queries.unread_count(current_user) if current_user.is_authenticated
            else 0}

nav.register(_l("Messages"), "inbox.index", lambda u: True, order=90)


@bp.route("/")
def index():
    page = db.paginate(queries.messages_for(current_user), page=page_arg(),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("inbox/index.html", page=page)


@bp.route("/<int:message_id>/open", methods=["POST"])
def open_message(message_id: int):
    message = get_or_404(Message, message_id, lambda m: m.can_view(current_user))
    operations.mark_read(message, current_user)
    db.session.commit()
    return redirect(message.link if is_safe_redirect(message.link) else url_for("inbox.index"))


@bp.route("/read-all", methods=["POST"])
def read_all():
    operations.mark_all_read(current_user)
    db.session.commit()
    return redirect(url_for("inbox.index"))
