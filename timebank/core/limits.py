"""Per-user rate limits shared by several features (the posts' own are in ``posts.limits``).

Downloads (xlsx, csv, pdf) build whole workbooks or documents per request: 60 parallel member
exports were all served. One budget per user across every download page, read from the config
at each request (``TIMEBANK_EXPORT_LIMIT``, default "10 per minute;200 per day").
"""
from __future__ import annotations

from flask import current_app, request
from flask_babel import gettext as _
from flask_login import current_user

from timebank.extensions import limiter


def user_key() -> str:
    return f"user:{current_user.id}" if current_user.is_authenticated else "anonymous"


def _export_refused(request_limit):
    from flask import make_response

    from timebank.core.web import error_response

    return make_response(error_response(
        429, _("Too many downloads in a short time. Please wait a minute and try again."),
        "rate_limited"))


def _is_page() -> bool:
    # Routes that serve a card as a page and as files (``fmt``): the page is no download.
    return (request.view_args or {}).get("fmt") == "html"


#: Decorate every route that answers with a file to download.
export_limit = limiter.shared_limit(lambda: current_app.config["EXPORT_LIMIT"], scope="exports",
                                    key_func=user_key, exempt_when=_is_page,
                                    on_breach=_export_refused)
