"""What the posts' operations share: limits, permission checks, notifications, and who may see
a post."""
from __future__ import annotations

import datetime as dt

from flask_babel import force_locale
from sqlalchemy import select

from timebank.core import clock
from timebank.core.errors import Forbidden
from timebank.extensions import db
from timebank.inbox import operations as inbox
from timebank.orgs.models import OrgNode
from timebank.posts.models import (Post, PostSession,
                                   PostStatus)


#: Check-in opens this long before a session starts.
CHECKIN_OPENS = dt.timedelta(hours=2)
#: A check-in further than this from the session's start is flagged for review.
FAR_CHECKIN = dt.timedelta(minutes=60)
#: More service than this on one local day is flagged for review.
MAX_DAY_MINUTES = 12 * 60
#: A member's own report of off-platform service may go back this far.
REPORT_MAX_AGE = dt.timedelta(days=90)
MAX_CAPACITY = 1000
MAX_CREDIT_MINUTES = 24 * 60


# --- helpers -----------------------------------------------------------------------------------


def _check(allowed: bool) -> None:
    if not allowed:
        raise Forbidden()


def _manages(actor, post: Post) -> bool:
    return actor is None or post.can_manage(actor)


def _is_member_self(actor, member) -> bool:
    return actor is None or actor.id == member.user_id


def _notify(user_id: int, subject, body, link: str | None, key: str) -> None:
    """An inbox message in the default language (the recipient is not the one acting)."""
    with force_locale("zh_CN"):
        inbox.send(user_id, str(subject), str(body), link=link, dedup_key=key)


def path_for(endpoint: str, **values) -> str:
    """A link for a message: works in requests and in scheduled jobs alike."""
    from flask import current_app

    return current_app.url_map.bind("localhost").build(endpoint, values)


def _local(value: dt.datetime) -> str:
    return clock.to_local(value).strftime("%Y-%m-%d %H:%M")


def _insert_ignoring_duplicates(table):
    """``INSERT ... ON CONFLICT DO NOTHING`` on both databases."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(table).on_conflict_do_nothing()


def same_street(a: OrgNode, b: OrgNode) -> bool:
    sa, sb = a.street, b.street
    return sa is not None and sb is not None and sa.id == sb.id


def member_may_see(member, post: Post) -> bool:
    """Members see published (and closed) posts of their street, and posts open to all."""
    if post.status == PostStatus.DRAFT:
        return False
    return post.open_to_all or same_street(member.community, post.community)

def upcoming_sessions(post: Post, now: dt.datetime | None = None) -> list[PostSession]:
    now = now or clock.now()
    return list(db.session.execute(
        select(PostSession).where(PostSession.post_id == post.id, PostSession.starts_at > now,
                                  PostSession.cancelled.is_(False))
        .order_by(PostSession.starts_at)).scalars())
