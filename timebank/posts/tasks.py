"""Bodies of the posts' scheduled jobs (the table is in ``timebank/jobs/table.py``).

Each takes the scheduled time of the period it serves (aware UTC; now when called by hand),
returns a one-line summary and leaves committing to the caller. Each is idempotent: a second run
for the same period finds nothing left to do (messages carry dedup keys).
"""
from __future__ import annotations

import datetime as dt

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import exists, or_, select, update

from timebank.core import clock
from timebank.extensions import db
from timebank.inbox import operations as inbox
from timebank.inbox.models import Message
from timebank.posts import operations, qr
from timebank.posts.models import (Claim, ClaimStatus, Post, PostSession, PostStatus,
                                   WaitlistEntry, WaitStatus)

#: Sessions that ended longer ago than this are not looked at again by the no-show job.
LOOKBACK = dt.timedelta(days=30)


def _at(scheduled_for: dt.datetime | None) -> dt.datetime:
    return scheduled_for or clock.now()


def close_past_deadline(scheduled_for: dt.datetime | None = None) -> str:
    """Close published posts whose claim deadline has passed or whose sessions have all
    started (claims already made stand)."""
    at = _at(scheduled_for)
    ahead = exists().where(PostSession.post_id == Post.id, PostSession.starts_at > at,
                           PostSession.cancelled.is_(False))
    posts = db.session.execute(select(Post).where(
        Post.status == PostStatus.PUBLISHED.value,
        or_(Post.claim_deadline <= at, ~ahead))).scalars().all()
    for post in posts:
        operations.close(None, post)
    return f"{len(posts)} posts closed"


def mark_no_shows(scheduled_for: dt.datetime | None = None) -> str:
    """After a session's end (plus the QR grace period): claimants who never checked in are
    no-shows; those who checked in but not out get their record, ending at the session's end."""
    at = _at(scheduled_for)
    sessions = db.session.execute(select(PostSession).where(
        PostSession.ends_at <= at - qr.GRACE, PostSession.ends_at > at - LOOKBACK,
        PostSession.cancelled.is_(False),
        exists().where(Claim.session_id == PostSession.id,
                       Claim.status == ClaimStatus.ACTIVE.value,
                       or_(Claim.attendance.is_(None),
                           Claim.checked_in_at.is_not(None) & Claim.checked_out_at.is_(None)))
    )).scalars().all()
    no_shows = records = 0
    for session in sessions:
        n, r = operations.close_attendance(session, at)
        no_shows, records = no_shows + n, records + r
    return f"{no_shows} no-shows marked, {records} records from check-ins without check-out"


def promote_waiting_lists(scheduled_for: dt.datetime | None = None) -> str:
    """Give free places to waiting lists (places freed without a promotion, e.g. after a
    capacity increase), and expire waiting entries of sessions that have started."""
    at = _at(scheduled_for)
    expired = db.session.execute(
        update(WaitlistEntry).where(
            WaitlistEntry.status == WaitStatus.WAITING.value,
            WaitlistEntry.session_id.in_(select(PostSession.id).where(
                or_(PostSession.starts_at <= at, PostSession.cancelled.is_(True)))))
        .values(status=WaitStatus.EXPIRED.value, updated_at=at)
        .execution_options(synchronize_session=False)).rowcount
    sessions = db.session.execute(select(PostSession).where(
        PostSession.starts_at > at, PostSession.cancelled.is_(False),
        PostSession.claimed < PostSession.capacity,
        exists().where(WaitlistEntry.session_id == PostSession.id,
                       WaitlistEntry.status == WaitStatus.WAITING.value))).scalars().all()
    promoted = 0
    for session in sessions:
        promoted += len(operations.promote_waitlist(session, at))
    return f"{promoted} promoted from waiting lists, {expired} waiting entries expired"


def send_reminders(scheduled_for: dt.datetime | None = None) -> str:
    """A message the day before to everyone holding a place in a session tomorrow."""
    at = _at(scheduled_for)
    start, end = clock.local_day_bounds(clock.to_local(at).date() + dt.timedelta(days=1))
    rows = db.session.execute(
        select(Claim, PostSession).join(PostSession, PostSession.id == Claim.session_id)
        .where(Claim.status == ClaimStatus.ACTIVE.value, PostSession.cancelled.is_(False),
               PostSession.starts_at >= start, PostSession.starts_at < end)).all()
    keys = {claim_row.id: f"reminder:{claim_row.id}:{session.starts_at:%Y%m%d%H%M}"
            for claim_row, session in rows}
    done = set(db.session.execute(select(Message.dedup_key).where(
        Message.dedup_key.in_(list(keys.values())))).scalars()) if keys else set()
    sent = 0
    for claim_row, session in rows:
        if keys[claim_row.id] in done:
            continue
        post = session.post
        with force_locale("zh_CN"):
            subject = _("Tomorrow: %(title)s", title=post.title)
            when = clock.to_local(session.starts_at).strftime("%m-%d %H:%M")
            body = _("You have claimed %(title)s at %(when)s, %(place)s. Scan the QR code there "
                     "to check in.", title=post.title, when=when,
                     place=post.place or post.community.name)
        inbox.send(claim_row.member.user_id, subject, body,
                   link=operations.path_for("posts.my_claims"), dedup_key=keys[claim_row.id])
        sent += 1
    return f"{sent} reminders sent for {len(rows)} claims tomorrow"
