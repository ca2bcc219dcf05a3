"""Writes on posts, claims, attendance and service records.

Every function takes the acting user (None = the system: CLI, scheduled jobs, demo data),
validates, changes rows and flushes; the caller commits once, and rolls back on a DomainError.

Capacity: ``post_sessions.claimed`` only changes in a conditional UPDATE that tests it against
``capacity`` in the same statement (and the claim row is written in the same transaction), so
parallel claims for the last place cannot overbook, on SQLite or on PostgreSQL. A CHECK constraint
and UNIQUE(session, member) back this up in the schema.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import (Boolean, and_, bindparam, case, delete, func, insert, select, text,
                        update)
from sqlalchemy import column as sa_column
from sqlalchemy.orm import selectinload

from timebank.audit import operations as audit
from timebank.core import clock, signals
from timebank.core.db import UTCDateTime
from timebank.core.errors import DomainError, Forbidden, Invalid, NotFound
from timebank.extensions import db
from timebank.inbox import operations as inbox
from timebank.orgs.models import OrgKind, OrgNode
from timebank.posts import qr
from timebank.posts.errors import (AlreadyClaimed, DeadlinePassed, MonthlyLimitReached,
                                   NeedsReview, NotApproved, PostClosed, PostFull, TimeConflict)
from timebank.catalogue.models import PostKind
from timebank.posts.models import (Attendance, Claim, ClaimStatus, Flag, Post, PostSession,
                                   PostStatus, RecordSource, RecordStatus, ServiceRecord,
                                   WaitlistEntry, WaitStatus, post_skills)
from timebank.posts.schedule import MAX_SESSIONS, Schedule, ScheduleError, expand

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


# --- publishing --------------------------------------------------------------------------------


@dataclasses.dataclass
class PostData:
    """What the post form (or the CLI, or the demo) gives."""

    kind: PostKind
    title: str
    description: str = ""
    place: str = ""
    skill_ids: Iterable[int] = ()
    capacity: int = 1
    minutes_credit: int | None = None
    claim_deadline: dt.datetime | None = None
    open_to_all: bool = False
    schedule: Schedule | None = None


def _clean(data: PostData, community: OrgNode) -> PostData:
    title = (data.title or "").strip()
    if not title or len(title) > 100:
        raise Invalid(_l("A title of 1-100 characters is required."), field="title")
    if data.kind is None or not data.kind.active or (
            data.kind.community_id is not None and data.kind.community_id != community.id):
        raise Invalid(_l("Choose a kind from the list."), field="kind_id")
    if not 1 <= int(data.capacity or 0) <= MAX_CAPACITY:
        raise Invalid(_l("Capacity must be between 1 and %(n)d.", n=MAX_CAPACITY),
                      field="capacity")
    if data.minutes_credit is not None and not 0 <= data.minutes_credit <= MAX_CREDIT_MINUTES:
        raise Invalid(_l("Minutes credited must be between 0 and %(n)d.", n=MAX_CREDIT_MINUTES),
                      field="minutes_credit")
    skill_ids = sorted({int(s) for s in data.skill_ids or ()})
    if skill_ids:
        from timebank.members.models import Skill

        known = set(db.session.execute(select(Skill.id).where(
            Skill.id.in_(skill_ids), Skill.active.is_(True))).scalars())
        if known != set(skill_ids):
            raise Invalid(_l("Choose skills from the list."), field="skill_ids")
    return dataclasses.replace(data, title=title, description=(data.description or "").strip(),
                               place=(data.place or "").strip()[:200], skill_ids=skill_ids,
                               capacity=int(data.capacity))


def _session_times(schedule: Schedule) -> list[tuple[dt.datetime, dt.datetime]]:
    try:
        pairs = expand(schedule)
    except ScheduleError as e:
        raise Invalid(_(str(e), **e.params), field=e.field) from None
    return [(clock.local_datetime(s.date(), s.time()), clock.local_datetime(e.date(), e.time()))
            for s, e in pairs]


def _set_skills(post: Post, skill_ids: list[int]) -> None:
    db.session.execute(delete(post_skills).where(post_skills.c.post_id == post.id))
    if skill_ids:
        db.session.execute(insert(post_skills), [{"post_id": post.id, "skill_id": s}
                                                 for s in skill_ids])


def skill_ids_of(post: Post) -> list[int]:
    return list(db.session.execute(select(post_skills.c.skill_id).where(
        post_skills.c.post_id == post.id)).scalars())


def _session_credit(post: Post, start: dt.datetime, end: dt.datetime) -> int:
    """Minutes a session credits: its length, or the post's fixed credit when that is less."""
    length = int((end - start).total_seconds() // 60)
    return length if post.minutes_credit is None else min(post.minutes_credit, length)


def _build_sessions(post: Post, schedule: Schedule) -> None:
    times = _session_times(schedule)
    now = clock.now()
    if any(start <= now for start, _end in times):
        raise Invalid(_l("Sessions must be in the future."), field="dates" if
                      schedule.mode == "dates" else "first_day")
    for s in list(post.sessions):
        db.session.delete(s)
    db.session.flush()
    for start, end in times:
        db.session.add(PostSession(post=post, post_id=post.id, starts_at=start, ends_at=end,
                                   capacity=post.capacity, claimed=0,
                                   minutes_credit=_session_credit(post, start, end),
                                   cancelled=False))
    post.schedule = schedule.as_dict()
    db.session.flush()
    db.session.expire(post, ["sessions"])


def create_post(actor, community: OrgNode, data: PostData) -> Post:
    """A draft post with its sessions."""
    if community.kind != OrgKind.COMMUNITY:
        raise Invalid(_l("Posts are published by a community."), field="community_id")
    _check(actor is None or community.can_manage(actor))
    if data.schedule is None:
        raise Invalid(_l("Give the sessions."), field="mode")
    data = _clean(data, community)
    post = Post(community=community, community_id=community.id, kind=data.kind,
                kind_id=data.kind.id, title=data.title, description=data.description,
                place=data.place, capacity=data.capacity, minutes_credit=data.minutes_credit,
                claim_deadline=data.claim_deadline, open_to_all=bool(data.open_to_all),
                status=PostStatus.DRAFT.value, created_by_id=actor.id if actor else None,
                created_at=clock.now(), schedule={})
    db.session.add(post)
    db.session.flush()
    _set_skills(post, list(data.skill_ids))
    _build_sessions(post, data.schedule)
    audit.record(actor, "post.create", "post", post.id, title=post.title)
    return post


def update_post(actor, post: Post, data: PostData) -> None:
    """Edit a post. A draft may change anything; once published the sessions stay as they are
    (members have claimed them) and capacity may only grow."""
    _check(_manages(actor, post))
    if post.status in (PostStatus.CLOSED, PostStatus.CANCELLED):
        raise Invalid(_l("A closed or cancelled post cannot be edited."))
    data = _clean(data, post.community)
    if post.status == PostStatus.DRAFT:
        post.capacity = data.capacity
        post.minutes_credit = data.minutes_credit
        if data.schedule is None:
            raise Invalid(_l("Give the sessions."), field="mode")
        _build_sessions(post, data.schedule)
    elif data.capacity != post.capacity:
        if data.capacity < post.capacity:
            raise Invalid(_l("Capacity of a published post can only be increased."),
                          field="capacity")
        db.session.execute(
            update(PostSession).where(PostSession.post_id == post.id,
                                      PostSession.starts_at > clock.now())
            .values(capacity=data.capacity).execution_options(synchronize_session=False))
        post.capacity = data.capacity
        db.session.expire(post, ["sessions"])
    post.kind, post.kind_id = data.kind, data.kind.id
    post.title, post.description, post.place = data.title, data.description, data.place
    post.claim_deadline = data.claim_deadline
    post.open_to_all = bool(data.open_to_all)
    _set_skills(post, list(data.skill_ids))
    db.session.flush()
    audit.record(actor, "post.update", "post", post.id)
    if post.status == PostStatus.PUBLISHED:
        for session in upcoming_sessions(post):
            promote_waitlist(session)


def upcoming_sessions(post: Post, now: dt.datetime | None = None) -> list[PostSession]:
    now = now or clock.now()
    return list(db.session.execute(
        select(PostSession).where(PostSession.post_id == post.id, PostSession.starts_at > now,
                                  PostSession.cancelled.is_(False))
        .order_by(PostSession.starts_at)).scalars())


def publish(actor, post: Post) -> None:
    _check(_manages(actor, post))
    if post.status != PostStatus.DRAFT:
        raise Invalid(_l("Only a draft can be published."))
    if not upcoming_sessions(post):
        raise Invalid(_l("The post has no future sessions; edit the dates first."))
    post.status = PostStatus.PUBLISHED.value
    post.published_at = clock.now()
    db.session.flush()
    audit.record(actor, "post.publish", "post", post.id)


def close(actor, post: Post) -> None:
    """No more claims; claims already made stand (members still come and are credited)."""
    _check(_manages(actor, post))
    if post.status != PostStatus.PUBLISHED:
        raise Invalid(_l("Only a post open for claims can be closed."))
    post.status = PostStatus.CLOSED.value
    post.closed_at = clock.now()
    db.session.execute(
        update(WaitlistEntry).where(WaitlistEntry.status == WaitStatus.WAITING.value,
                                    WaitlistEntry.session_id.in_(
                                        select(PostSession.id).where(
                                            PostSession.post_id == post.id)))
        .values(status=WaitStatus.EXPIRED.value, updated_at=clock.now())
        .execution_options(synchronize_session=False))
    db.session.flush()
    audit.record(actor, "post.close", "post", post.id)


def _cancel_sessions(session_ids: list[int], link: str, subject, body, key: str) -> int:
    """Cancel sessions and their claims and waiting lists; tell each claimant once."""
    if not session_ids:
        return 0
    now = clock.now()
    # Sessions first: this takes their row locks, so a claim in flight finishes before we read
    # the claims, and any later claim's conditional update sees ``cancelled`` and fails.
    db.session.execute(update(PostSession).where(PostSession.id.in_(session_ids))
                       .values(cancelled=True, claimed=0)
                       .execution_options(synchronize_session=False))
    cancelled = db.session.execute(
        update(Claim).where(Claim.session_id.in_(session_ids),
                            Claim.status == ClaimStatus.ACTIVE.value)
        .values(status=ClaimStatus.CANCELLED.value, updated_at=now)
        .returning(Claim.member_id)
        .execution_options(synchronize_session=False)).scalars().all()
    db.session.execute(
        update(WaitlistEntry).where(WaitlistEntry.session_id.in_(session_ids),
                                    WaitlistEntry.status == WaitStatus.WAITING.value)
        .values(status=WaitStatus.EXPIRED.value, updated_at=now)
        .execution_options(synchronize_session=False))
    from timebank.members.models import Member

    users = db.session.execute(select(Member.id, Member.user_id).where(
        Member.id.in_(set(cancelled)))).all()
    for member_id, user_id in users:
        _notify(user_id, subject, body, link, f"{key}:{member_id}")
    db.session.expire_all()
    return len(cancelled)


def cancel(actor, post: Post, reason: str = "") -> int:
    """Cancel the post: its future sessions and their claims; claimants get a message.
    Returns the number of claims cancelled."""
    _check(_manages(actor, post))
    if post.status == PostStatus.CANCELLED:
        raise Invalid(_l("This post is already cancelled."))
    reason = (reason or "").strip()[:500]
    ids = [s.id for s in upcoming_sessions(post)]
    post.status = PostStatus.CANCELLED.value
    post.cancel_reason = reason
    post.closed_at = clock.now()
    db.session.flush()
    with force_locale("zh_CN"):
        subject = _("Cancelled: %(title)s", title=post.title)
        body = _("The community has cancelled this post; your claims for its coming sessions "
                 "are cancelled.") + (("\n" + _("Reason: %(r)s", r=reason)) if reason else "")
    n = _cancel_sessions(ids, path_for("posts.detail", post_id=post.id), subject, body,
                         f"post-cancelled:{post.id}")
    audit.record(actor, "post.cancel", "post", post.id, claims=n, reason=reason)
    return n


def cancel_session(actor, session: PostSession, reason: str = "") -> int:
    post = session.post
    _check(_manages(actor, post))
    if session.cancelled:
        raise Invalid(_l("This session is already cancelled."))
    if session.has_started():
        raise Invalid(_l("A session that has started cannot be cancelled."))
    with force_locale("zh_CN"):
        subject = _("Session cancelled: %(title)s %(when)s", title=post.title,
                    when=_local(session.starts_at))
        body = _("The community has cancelled this session; your claim is cancelled.") + (
            ("\n" + _("Reason: %(r)s", r=reason)) if reason else "")
    n = _cancel_sessions([session.id], path_for("posts.detail", post_id=post.id), subject, body,
                         f"session-cancelled:{session.id}")
    audit.record(actor, "post_session.cancel", "post_session", session.id, claims=n)
    return n


def _live_starts(post: Post, other_than: PostSession | None = None) -> list[dt.datetime]:
    """Start times of the post's sessions that are not cancelled."""
    query = select(PostSession.starts_at).where(PostSession.post_id == post.id,
                                                PostSession.cancelled.is_(False))
    if other_than is not None:
        query = query.where(PostSession.id != other_than.id)
    return list(db.session.execute(query).scalars())


def add_sessions(actor, post: Post, dates_text: str, start_time: dt.time,
                 end_time: dt.time) -> list[PostSession]:
    """Add one-off sessions to a published post, given as on the post form (one date per line,
    optionally with its own times). They take the post's capacity and credit and can be claimed
    at once. A draft changes its sessions on the edit form instead."""
    _check(_manages(actor, post))
    if post.status != PostStatus.PUBLISHED:
        raise Invalid(_l("Sessions can be added only to a post open for claims; a draft's "
                         "sessions are changed on its edit form."))
    times = _session_times(Schedule("dates", start_time, end_time, dates_text=dates_text))
    if any(start <= clock.now() for start, _end in times):
        raise Invalid(_l("Sessions must be in the future."), field="dates")
    live = _live_starts(post)
    starts = [start for start, _end in times]
    taken = sorted({s for s in starts if s in live or starts.count(s) > 1})
    if taken:
        raise Invalid(_l("Two sessions of the post would start at %(when)s.",
                         when=_local(taken[0])), field="dates")
    if len(live) + len(times) > MAX_SESSIONS:
        raise Invalid(_l("At most %(n)d sessions per post.", n=MAX_SESSIONS), field="dates")
    added = [PostSession(post_id=post.id, starts_at=start, ends_at=end, capacity=post.capacity,
                         claimed=0, minutes_credit=_session_credit(post, start, end),
                         cancelled=False) for start, end in times]
    db.session.add_all(added)
    db.session.flush()
    db.session.expire(post, ["sessions"])
    audit.record(actor, "post.add_sessions", "post", post.id,
                 sessions=[s.id for s in added], starts=[_local(s) for s in starts])
    return added


def move_session(actor, session: PostSession, starts_at: dt.datetime,
                 ends_at: dt.datetime) -> int:
    """Give a future session of a published post a new time. Claims and the waiting list stay;
    every claimant is told the new time and that they may withdraw. The credit follows the
    post's rule for the new length. Returns the number of claimants told."""
    post = session.post
    _check(_manages(actor, post))
    if post.status != PostStatus.PUBLISHED:
        raise Invalid(_l("Only sessions of a post open for claims can be moved; a draft's "
                         "sessions are changed on its edit form."))
    if session.cancelled:
        raise Invalid(_l("A cancelled session cannot be moved."))
    now = clock.now()
    if session.has_started(now):
        raise Invalid(_l("A session that has started cannot be moved."))
    if ends_at <= starts_at:
        raise Invalid(_l("The end must be after the start."), field="end_time")
    if ends_at - starts_at > dt.timedelta(minutes=MAX_CREDIT_MINUTES):
        raise Invalid(_l("A session lasts at most 24 hours."), field="end_time")
    if starts_at <= now:
        raise Invalid(_l("Sessions must be in the future."), field="day")
    if starts_at == session.starts_at and ends_at == session.ends_at:
        raise Invalid(_l("The session already has this time."), field="day")
    if starts_at in _live_starts(post, other_than=session):
        raise Invalid(_l("Two sessions of the post would start at %(when)s.",
                         when=_local(starts_at)), field="day")
    # Check-in opens before the start: a member who has checked in was there at the old time.
    if db.session.execute(select(Claim.id).where(
            Claim.session_id == session.id, Claim.status == ClaimStatus.ACTIVE.value,
            Claim.checked_in_at.is_not(None)).limit(1)).first():
        raise Invalid(_l("Members have already checked in to this session; it cannot be moved."))
    old_start, old_end = session.starts_at, session.ends_at
    session.starts_at, session.ends_at = starts_at, ends_at
    session.minutes_credit = _session_credit(post, starts_at, ends_at)
    # The session row is written before the claimants are read (as when cancelling): a claim in
    # flight holds that row, so it has committed by the time we read and is told as well.
    db.session.flush()
    from timebank.members.models import Member

    claimants = db.session.execute(
        select(Member.id, Member.user_id).join(Claim, Claim.member_id == Member.id)
        .where(Claim.session_id == session.id, Claim.status == ClaimStatus.ACTIVE.value)).all()
    with force_locale("zh_CN"):
        subject = _("New time: %(title)s", title=post.title)
        body = _("The community has moved the session of %(old)s to %(new)s. Your claim stands; "
                 "if the new time does not suit you, withdraw it under My claims (after the "
                 "claim deadline, ask the community staff to).",
                 old=_local(old_start),
                 new=f"{_local(starts_at)}-{clock.to_local(ends_at):%H:%M}")
    # The key holds the new time and the moment of the move: each move is told, even one back
    # to an earlier time.
    key = f"session-moved:{session.id}:{int(starts_at.timestamp())}:{int(now.timestamp())}"
    for member_id, user_id in claimants:
        _notify(user_id, subject, body, path_for("posts.my_claims"), f"{key}:{member_id}")
    audit.record(actor, "post_session.move", "post_session", session.id,
                 old=[_local(old_start), _local(old_end)],
                 new=[_local(starts_at), _local(ends_at)], claims=len(claimants))
    return len(claimants)


# --- claims ------------------------------------------------------------------------------------


def _take_place(session_id: int) -> bool:
    """One place, if there is one left; the test and the increment are one statement."""
    result = db.session.execute(
        update(PostSession)
        .where(PostSession.id == session_id, PostSession.claimed < PostSession.capacity,
               PostSession.cancelled.is_(False))
        .values(claimed=PostSession.claimed + 1)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def _release_place(session_id: int) -> None:
    db.session.execute(
        update(PostSession).where(PostSession.id == session_id, PostSession.claimed > 0)
        .values(claimed=PostSession.claimed - 1)
        .execution_options(synchronize_session=False))


def _refresh_counter(session: PostSession) -> None:
    if session in db.session:
        db.session.expire(session, ["claimed"])


def _check_member_may_claim(member, post: Post, now: dt.datetime) -> None:
    if not member.is_approved:
        raise NotApproved()
    if not member_may_see(member, post):
        raise NotFound()
    if post.status != PostStatus.PUBLISHED:
        raise PostClosed()
    if post.deadline_passed(now):
        raise DeadlinePassed()


#: The claim's INSERT, as text: the same SQL on SQLite (3.35+) and PostgreSQL, and unlike the
#: dialects' ``insert().on_conflict_do_nothing()`` constructs it is compiled once and cached
#: (the claim path runs it on every claim). Loaded as a Claim, so no second query reads it back.
#: It writes nothing when the member has another active claim overlapping the session, or as
#: many in the session's local month as their registration form allows: the test is in the
#: same statement, and only a claim that was not written asks why (``_check_fits``).
_CLAIM_COLUMNS = ", ".join(c.name for c in Claim.__table__.c)
_MEMBER_ACTIVE = ("FROM claims c JOIN post_sessions s ON s.id = c.session_id "
                  "WHERE c.member_id = :member_id AND c.status = 'active' "
                  "AND c.session_id <> :session_id AND NOT s.cancelled")
_INSERT_CLAIM_SQL = (
    "INSERT INTO claims (session_id, post_id, member_id, status, created_at, promoted) "
    "SELECT :session_id, :post_id, :member_id, :status, :created_at, :promoted "
    f"WHERE NOT EXISTS (SELECT 1 {_MEMBER_ACTIVE} "
    "AND s.starts_at < :ends_at AND s.ends_at > :starts_at) "
    "AND COALESCE((SELECT max_sessions_per_month FROM member_profiles "
    "WHERE member_id = :member_id AND version = :profile_version), 1000000) > "
    f"(SELECT count(*) {_MEMBER_ACTIVE} "
    "AND s.starts_at >= :month_start AND s.starts_at < :month_end) "
    f"ON CONFLICT (session_id, member_id) DO NOTHING RETURNING {_CLAIM_COLUMNS}")
_INSERT_CLAIM = select(Claim).from_statement(
    text(_INSERT_CLAIM_SQL)
    .bindparams(*(bindparam(name, type_=UTCDateTime()) for name in (
        "created_at", "starts_at", "ends_at", "month_start", "month_end")),
        bindparam("promoted", type_=Boolean()))
    .columns(*Claim.__table__.c))
#: PostgreSQL: the same INSERT and the counter's conditional UPDATE in one statement (one
#: round trip less on the path members use most). The UPDATE reads the INSERT's result, so it
#: runs only for a claim written; ``took`` says whether it found a place.
_INSERT_CLAIM_AND_TAKE = select(Claim, sa_column("took", Boolean)).from_statement(
    text(f"WITH ins AS ({_INSERT_CLAIM_SQL}), "
         "upd AS (UPDATE post_sessions SET claimed = claimed + 1 WHERE id = :session_id "
         "AND claimed < capacity AND NOT cancelled AND EXISTS (SELECT 1 FROM ins) "
         "RETURNING id) "
         "SELECT ins.*, EXISTS (SELECT 1 FROM upd) AS took FROM ins")
    .bindparams(*(bindparam(name, type_=UTCDateTime()) for name in (
        "created_at", "starts_at", "ends_at", "month_start", "month_end")),
        bindparam("promoted", type_=Boolean()))
    .columns(*Claim.__table__.c, sa_column("took", Boolean)))


def _check_fits(member, session: PostSession) -> None:
    """The member is free then (no other active claim overlaps the session) and stays within the
    sessions a month their registration form allows; raises why not. The claim's INSERT makes
    the same test; this runs when it wrote nothing, and before joining a waiting list. One
    query: the count of their active claims in the session's local month, an overlapping one if
    any, and the form's limit.

    Not serialised against the member's own parallel requests (two tabs claiming two sessions
    at once may both pass); capacity, which other members contend for, is."""
    from timebank.members.models import MemberProfile

    lo, hi = clock.local_month_bounds(session.starts_at)
    starts, ends = PostSession.starts_at, PostSession.ends_at
    limit = select(MemberProfile.max_sessions_per_month).where(
        MemberProfile.member_id == member.id,
        MemberProfile.version == member.profile_version).scalar_subquery()
    in_month, clash, most = db.session.execute(
        select(func.coalesce(func.sum(case((and_(starts >= lo, starts < hi), 1), else_=0)), 0),
               func.max(case((and_(starts < session.ends_at, ends > session.starts_at),
                              PostSession.id), else_=None)),
               limit)
        .select_from(Claim).join(PostSession, PostSession.id == Claim.session_id)
        .where(Claim.member_id == member.id, Claim.status == ClaimStatus.ACTIVE.value,
               Claim.session_id != session.id, PostSession.cancelled.is_(False),
               starts < max(hi, session.ends_at), ends > min(lo, session.starts_at))).one()
    if clash is not None:
        other = db.session.get(PostSession, clash)
        raise TimeConflict(_l("You have already claimed %(title)s at %(when)s, which overlaps "
                              "this session.", title=other.post.title,
                              when=_local(other.starts_at)))
    if most is not None and in_month + 1 > most:
        raise MonthlyLimitReached(_l(
            "Your registration form says at most %(n)d sessions a month and you have claimed "
            "%(k)d in that month; change the number in your registration form to claim more.",
            n=most, k=in_month))


def _claim_session(member, session: PostSession, now: dt.datetime,
                   promoted: bool = False) -> Claim:
    """Write the claim and take a place: the ``INSERT ... ON CONFLICT DO NOTHING RETURNING``
    (which also tests that the claim fits the member) and then the conditional counter update,
    in this order so the session row (the one everybody contends for) stays locked only from the
    update to the commit. One statement on PostgreSQL (_INSERT_CLAIM_AND_TAKE), two on SQLite."""
    if session.cancelled:
        raise PostClosed(_l("This session has been cancelled."))
    if session.has_started(now):
        raise DeadlinePassed(_l("This session has already started."))
    month_start, month_end = clock.local_month_bounds(session.starts_at)
    params = {
        "session_id": session.id, "post_id": session.post_id, "member_id": member.id,
        "status": ClaimStatus.ACTIVE.value, "created_at": now, "promoted": promoted,
        "starts_at": session.starts_at, "ends_at": session.ends_at,
        "profile_version": member.profile_version, "month_start": month_start,
        "month_end": month_end,
    }
    if db.session.get_bind().dialect.name == "postgresql":
        row = db.session.execute(_INSERT_CLAIM_AND_TAKE, params).first()
        claim_row, took = row if row is not None else (None, False)
    else:
        claim_row, took = db.session.execute(_INSERT_CLAIM, params).scalar_one_or_none(), None
    if claim_row is None:
        # Not written: it does not fit the member (raises why), or they have a row for this
        # session already.
        _check_fits(member, session)
        return _claim_again(member, session, now, promoted)
    if took is None:
        took = _take_place(session.id)
    if not took:
        # Full: the row written a moment ago goes again (the transaction may go on with other
        # sessions of the post).
        db.session.execute(delete(Claim).where(Claim.id == claim_row.id))
        db.session.expunge(claim_row)
        _refresh_counter(session)
        raise PostFull()
    _refresh_counter(session)
    return claim_row


def _claim_again(member, session: PostSession, now: dt.datetime, promoted: bool) -> Claim:
    """The member has a row for this session: active (maybe from a parallel request), or
    withdrawn or cancelled earlier, which claiming again reuses (UNIQUE(session, member))."""
    existing = db.session.execute(select(Claim).where(
        Claim.session_id == session.id, Claim.member_id == member.id)).scalar_one_or_none()
    if existing is None or existing.is_active:
        raise AlreadyClaimed()
    if not _take_place(session.id):
        _refresh_counter(session)
        raise PostFull()
    reused = db.session.execute(
        update(Claim).where(Claim.id == existing.id, Claim.status != ClaimStatus.ACTIVE.value)
        .values(status=ClaimStatus.ACTIVE.value, updated_at=now, promoted=promoted,
                checked_in_at=None, checked_out_at=None, attendance=None)
        .execution_options(synchronize_session=False)).rowcount == 1
    if not reused:
        _release_place(session.id)
        _refresh_counter(session)
        raise AlreadyClaimed()
    db.session.expire(existing)
    _refresh_counter(session)
    return existing


@dataclasses.dataclass
class ClaimOutcome:
    claims: list[Claim]
    waitlisted: list[WaitlistEntry]
    #: Sessions that were full (and not waitlisted).
    full: list[PostSession]
    #: Sessions skipped because they clash with another claim or exceed the monthly limit.
    skipped: list[PostSession] = dataclasses.field(default_factory=list)


def claim(actor, member, post: Post, session: PostSession | None = None,
          waitlist: bool = False) -> ClaimOutcome:
    """Claim one session of ``post``, or (``session=None``) every future session the member has
    not claimed yet. Full sessions are skipped, or put on the waiting list with ``waitlist``;
    when nothing could be claimed or waitlisted the rejection says why."""
    _check(_is_member_self(actor, member))
    now = clock.now()
    _check_member_may_claim(member, post, now)
    if session is not None:
        if session.post_id != post.id:
            raise NotFound()
        try:
            return ClaimOutcome([_claim_session(member, session, now)], [], [])
        except PostFull:
            if not waitlist:
                raise
            return ClaimOutcome([], [join_waitlist(actor, member, session)], [])
    sessions = upcoming_sessions(post, now)
    if not sessions:
        raise DeadlinePassed(_l("This post has no more sessions to claim."))
    held = set(db.session.execute(select(Claim.session_id).where(
        Claim.post_id == post.id, Claim.member_id == member.id,
        Claim.status == ClaimStatus.ACTIVE.value)).scalars())
    todo = [s for s in sessions if s.id not in held]
    if not todo:
        raise AlreadyClaimed()
    outcome = ClaimOutcome([], [], [])
    first_misfit: DomainError | None = None
    for s in todo:
        try:
            outcome.claims.append(_claim_session(member, s, now))
        except (TimeConflict, MonthlyLimitReached) as e:
            outcome.skipped.append(s)
            first_misfit = first_misfit or e
        except PostFull:
            if waitlist:
                outcome.waitlisted.append(join_waitlist(actor, member, s))
            else:
                outcome.full.append(s)
    if not outcome.claims and not outcome.waitlisted:
        if first_misfit is not None and not outcome.full:
            raise first_misfit
        raise PostFull()
    return outcome


def withdraw(actor, claim: Claim) -> None:
    """Give the place back (before the deadline); the first on the waiting list gets it.
    Staff managing the post may withdraw a claim at any time before the session starts."""
    member = claim.member
    session = claim.session
    post = session.post
    by_staff = actor is not None and actor.id != member.user_id
    _check(not by_staff or _manages(actor, post))
    now = clock.now()
    if not claim.is_active:
        raise Invalid(_l("This claim is not active."))
    if session.has_started(now):
        raise DeadlinePassed(_l("This session has already started."))
    if not by_staff and post.deadline_passed(now):
        raise DeadlinePassed(_l("The deadline has passed; ask the community staff."))
    result = db.session.execute(
        update(Claim).where(Claim.id == claim.id, Claim.status == ClaimStatus.ACTIVE.value)
        .values(status=ClaimStatus.WITHDRAWN.value, updated_at=now)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise Invalid(_l("This claim is not active."))
    _release_place(session.id)
    db.session.expire(claim)
    _refresh_counter(session)
    if by_staff:
        audit.record(actor, "claim.withdraw", "claim", claim.id, member=member.id)
    promote_waitlist(session, now)


def join_waitlist(actor, member, session: PostSession) -> WaitlistEntry:
    _check(_is_member_self(actor, member))
    now = clock.now()
    _check_member_may_claim(member, session.post, now)
    if session.cancelled:
        raise PostClosed(_l("This session has been cancelled."))
    if session.has_started(now):
        raise DeadlinePassed(_l("This session has already started."))
    if db.session.execute(select(Claim.id).where(
            Claim.session_id == session.id, Claim.member_id == member.id,
            Claim.status == ClaimStatus.ACTIVE.value)).first():
        raise AlreadyClaimed()
    _check_fits(member, session)
    entry = db.session.execute(select(WaitlistEntry).where(
        WaitlistEntry.session_id == session.id, WaitlistEntry.member_id == member.id)
    ).scalar_one_or_none()
    if entry is None:
        db.session.execute(_insert_ignoring_duplicates(WaitlistEntry.__table__).values(
            session_id=session.id, member_id=member.id, status=WaitStatus.WAITING.value,
            created_at=now))
        entry = db.session.execute(select(WaitlistEntry).where(
            WaitlistEntry.session_id == session.id, WaitlistEntry.member_id == member.id)
        ).scalar_one()
    elif entry.status != WaitStatus.WAITING:
        # Back of the queue again.
        entry.status, entry.created_at, entry.updated_at = WaitStatus.WAITING.value, now, now
    db.session.flush()
    return entry


def leave_waitlist(actor, entry: WaitlistEntry) -> None:
    _check(_is_member_self(actor, entry.member))
    if entry.status == WaitStatus.WAITING:
        entry.status, entry.updated_at = WaitStatus.LEFT.value, clock.now()
        db.session.flush()


def promote_waitlist(session: PostSession, now: dt.datetime | None = None) -> list[Claim]:
    """Give free places of ``session`` to the waiting list, oldest first, and tell them."""
    now = now or clock.now()
    promoted: list[Claim] = []
    db.session.refresh(session)
    if not session.claims_open(now):
        return promoted
    while True:
        entry = db.session.execute(
            select(WaitlistEntry).where(WaitlistEntry.session_id == session.id,
                                        WaitlistEntry.status == WaitStatus.WAITING.value)
            .order_by(WaitlistEntry.created_at, WaitlistEntry.id).limit(1)).scalar_one_or_none()
        if entry is None:
            break
        taken = db.session.execute(
            update(WaitlistEntry).where(WaitlistEntry.id == entry.id,
                                        WaitlistEntry.status == WaitStatus.WAITING.value)
            .values(status=WaitStatus.PROMOTED.value, updated_at=now)
            .execution_options(synchronize_session=False)).rowcount
        db.session.expire(entry)
        if not taken:
            continue  # promoted by a parallel transaction
        member = entry.member
        if not member.is_approved:
            entry.status = WaitStatus.EXPIRED.value
            continue
        try:
            claim_row = _claim_session(member, session, now, promoted=True)
        except AlreadyClaimed:
            continue
        except (TimeConflict, MonthlyLimitReached):
            # The member has since claimed something at that time, or their month is full: the
            # place goes to the next in line.
            entry.status = WaitStatus.EXPIRED.value
            continue
        except PostFull:
            entry.status = WaitStatus.WAITING.value  # still first in line for the next place
            break
        promoted.append(claim_row)
        with force_locale("zh_CN"):
            subject = _("A place came free: %(title)s", title=session.post.title)
            body = _("You were on the waiting list and now have a place in the session of "
                     "%(when)s.", when=_local(session.starts_at))
        _notify(member.user_id, subject, body, path_for("posts.my_claims"),
                f"promoted:{claim_row.id}:{int(now.timestamp())}")
    db.session.flush()
    return promoted


# --- check-in, attendance and service records --------------------------------------------------


@dataclasses.dataclass
class CheckinResult:
    claim: Claim
    action: str  # "check_in" or "check_out"
    record: ServiceRecord | None


def check_in(actor, member, token: str, action: str | None = None) -> CheckinResult:
    """Scan of a session's QR code: the first scan checks in, the next checks out (or say which
    with ``action`` "check_in"/"check_out"). Checking out produces the service record."""
    _check(_is_member_self(actor, member))
    now = clock.now()
    session_id = qr.read_token(token, now)
    session = db.session.get(PostSession, session_id)
    if session is None:
        raise NotFound()
    claim_row = db.session.execute(select(Claim).where(
        Claim.session_id == session.id, Claim.member_id == member.id,
        Claim.status == ClaimStatus.ACTIVE.value)).scalar_one_or_none()
    if claim_row is None:
        raise Forbidden(_l("You have not claimed this session."))
    if session.cancelled:
        raise PostClosed(_l("This session has been cancelled."))
    if now < session.starts_at - CHECKIN_OPENS:
        raise Invalid(_l("Check-in opens %(n)d minutes before the session starts.",
                         n=int(CHECKIN_OPENS.total_seconds() // 60)))
    if action is None:
        action = "check_in" if claim_row.checked_in_at is None else "check_out"
    if action == "check_in":
        if claim_row.checked_in_at is not None:
            raise Invalid(_l("You have already checked in."))
        claim_row.checked_in_at = now
        claim_row.attendance = Attendance.ATTENDED.value
        db.session.flush()
        return CheckinResult(claim_row, action, None)
    if action != "check_out":
        raise Invalid(_l("Unknown action."), field="action")
    if claim_row.checked_in_at is None:
        raise Invalid(_l("Check in first."))
    if claim_row.checked_out_at is not None or _record_of(claim_row) is not None:
        raise Invalid(_l("You have already checked out."))
    claim_row.checked_out_at = now
    record = _record_for_claim(actor, claim_row, claim_row.checked_in_at, now)
    return CheckinResult(claim_row, action, record)


def _record_of(claim_row: Claim) -> ServiceRecord | None:
    return db.session.execute(select(ServiceRecord).where(
        ServiceRecord.claim_id == claim_row.id)).scalar_one_or_none()


def _record_for_claim(actor, claim_row: Claim, started: dt.datetime,
                      ended: dt.datetime) -> ServiceRecord:
    session = claim_row.session
    ended = max(ended, started)
    served = int((ended - started).total_seconds() // 60)
    record = ServiceRecord(
        member_id=claim_row.member_id, community_id=session.post.community_id,
        source=RecordSource.ATTENDANCE.value, claim_id=claim_row.id, post_id=session.post_id,
        kind_id=session.post.kind_id, description="", started_at=started, ended_at=ended,
        minutes=min(served, session.minutes_credit), status=RecordStatus.PENDING.value,
        flags=[], created_at=clock.now(), created_by_id=actor.id if actor else None)
    db.session.add(record)
    db.session.flush()
    _flag(record, claim_row)
    return record


def _flag(record: ServiceRecord, claim_row: Claim | None = None) -> None:
    """Mark what needs a human look: overlapping records of the same member, more than 12 hours
    on one local day, a check-in far from the session's start. Overlapping pending records are
    flagged on both sides."""
    flags = set(record.flags or ())
    live = ServiceRecord.status != RecordStatus.REJECTED.value
    overlapping = db.session.execute(select(ServiceRecord).where(
        ServiceRecord.member_id == record.member_id, ServiceRecord.id != record.id, live,
        ServiceRecord.started_at < record.ended_at,
        ServiceRecord.ended_at > record.started_at)).scalars().all()
    if overlapping:
        flags.add(Flag.OVERLAP.value)
        for other in overlapping:
            if other.status == RecordStatus.PENDING and Flag.OVERLAP not in (other.flags or ()):
                other.flags = sorted({*(other.flags or ()), Flag.OVERLAP.value})
    day_start, day_end = clock.local_day_bounds(clock.to_local(record.started_at).date())
    day_total = db.session.execute(select(func.coalesce(func.sum(ServiceRecord.minutes), 0)).where(
        ServiceRecord.member_id == record.member_id, live,
        ServiceRecord.started_at >= day_start, ServiceRecord.started_at < day_end)).scalar_one()
    if day_total > MAX_DAY_MINUTES:
        flags.add(Flag.LONG_DAY.value)
    if (claim_row is not None and claim_row.checked_in_at is not None
            and abs(claim_row.checked_in_at - claim_row.session.starts_at) > FAR_CHECKIN):
        flags.add(Flag.FAR_CHECKIN.value)
    record.flags = sorted(flags)
    db.session.flush()


@dataclasses.dataclass
class AttendanceOutcome:
    changed: int = 0
    records: int = 0
    skipped: int = 0


def mark_attendance(actor, session: PostSession, claim_ids: Iterable[int],
                    present: bool) -> AttendanceOutcome:
    """Staff mark the chosen claimants present (each gets a record for the session, unless
    the QR check-out already made one) or absent (no-show)."""
    _check(_manages(actor, session.post))
    now = clock.now()
    if not session.has_started(now):
        raise Invalid(_l("Attendance can be marked once the session has started."))
    ids = {int(i) for i in claim_ids}
    if not ids:
        raise Invalid(_l("Choose at least one member."), field="claim_ids")
    claims = db.session.execute(select(Claim).where(
        Claim.session_id == session.id, Claim.id.in_(ids),
        Claim.status == ClaimStatus.ACTIVE.value)).scalars().all()
    out = AttendanceOutcome(skipped=len(ids) - len(claims))
    for c in claims:
        record = _record_of(c)
        if present:
            if c.attendance != Attendance.ATTENDED:
                c.attendance = Attendance.ATTENDED.value
                out.changed += 1
            if record is None:
                started = c.checked_in_at or session.starts_at
                ended = c.checked_out_at or max(session.ends_at, started)
                _record_for_claim(actor, c, started, ended)
                out.records += 1
        else:
            if record is not None and record.status != RecordStatus.PENDING:
                out.skipped += 1  # already verified or rejected: not rewritten silently
                continue
            if record is not None:
                record.status = RecordStatus.REJECTED.value
                record.reject_reason = str(_l("Marked as no-show."))
                record.reviewed_at, record.reviewed_by_id = now, actor.id if actor else None
            if c.attendance != Attendance.NO_SHOW:
                c.attendance = Attendance.NO_SHOW.value
                out.changed += 1
    db.session.flush()
    audit.record(actor, "post_session.attendance", "post_session", session.id,
                 present=present, claims=sorted(c.id for c in claims))
    return out


def close_attendance(session: PostSession, now: dt.datetime | None = None) -> tuple[int, int]:
    """After the session: claimants who never checked in become no-shows; those who checked in
    without checking out get their record, ending at the session's end. Staff's marks are kept.
    Returns (no-shows marked, records made); a second run finds nothing to do."""
    now = now or clock.now()
    if now < session.ends_at:
        return 0, 0
    no_shows = db.session.execute(
        update(Claim).where(Claim.session_id == session.id,
                            Claim.status == ClaimStatus.ACTIVE.value,
                            Claim.attendance.is_(None), Claim.checked_in_at.is_(None))
        .values(attendance=Attendance.NO_SHOW.value, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    open_checkins = db.session.execute(select(Claim).where(
        Claim.session_id == session.id, Claim.status == ClaimStatus.ACTIVE.value,
        Claim.checked_in_at.is_not(None), Claim.checked_out_at.is_(None))).scalars().all()
    records = 0
    for c in open_checkins:
        if _record_of(c) is None:
            _record_for_claim(None, c, c.checked_in_at, max(session.ends_at, c.checked_in_at))
            records += 1
    db.session.flush()
    return no_shows, records


def report_service(actor, member, *, started_at: dt.datetime, ended_at: dt.datetime,
                   description: str, kind: PostKind | None = None) -> ServiceRecord:
    """A member's report of service done off the platform, for their community's staff."""
    _check(_is_member_self(actor, member))
    if not member.is_approved:
        raise NotApproved(_l("Only approved members may report service."))
    description = (description or "").strip()
    if not description or len(description) > 1000:
        raise Invalid(_l("Describe the service (up to 1000 characters)."), field="description")
    now = clock.now()
    if ended_at <= started_at:
        raise Invalid(_l("The end must be after the start."), field="end_time")
    if ended_at > now:
        raise Invalid(_l("Service can be reported once it is done."), field="day")
    if started_at < now - REPORT_MAX_AGE:
        raise Invalid(_l("Service older than %(n)d days cannot be reported.",
                         n=REPORT_MAX_AGE.days), field="day")
    minutes = int((ended_at - started_at).total_seconds() // 60)
    if minutes > MAX_DAY_MINUTES:
        raise Invalid(_l("One report covers at most 12 hours."), field="end_time")
    record = ServiceRecord(
        member_id=member.id, community_id=member.community_id,
        source=RecordSource.REPORTED.value, kind_id=kind.id if kind else None,
        description=description, started_at=started_at, ended_at=ended_at, minutes=minutes,
        status=RecordStatus.PENDING.value, flags=[], created_at=now,
        created_by_id=actor.id if actor else None)
    db.session.add(record)
    db.session.flush()
    _flag(record)
    return record


def _deposit_reason(record: ServiceRecord) -> str:
    with force_locale("zh_CN"):
        if record.post is not None:
            return _("Service: %(title)s, %(when)s", title=record.post.title,
                     when=_local(record.started_at))
        return _("Reported service, %(when)s", when=_local(record.started_at))


def verify(actor, record: ServiceRecord, acknowledge_flags: bool = False) -> bool:
    """Accept the record and deposit its minutes, once. Returns False when it was already
    verified (nothing is deposited a second time). A flagged record needs
    ``acknowledge_flags``: the reviewer has seen why it was flagged."""
    _check(actor is None or record.can_review(actor))
    if record.status == RecordStatus.VERIFIED:
        return False
    if record.status == RecordStatus.REJECTED:
        raise Invalid(_l("A rejected record cannot be verified."))
    if record.status == RecordStatus.REVOKED:
        raise Invalid(_l("This record's verification was withdrawn; it cannot be verified again."))
    if record.flags and not acknowledge_flags:
        raise NeedsReview()
    if not _mark_verified(actor, record):
        return False
    if record.minutes > 0:
        from timebank.ledger import operations as ledger

        tx = ledger.deposit(actor, record.member, record.minutes, source_type="service_record",
                            source_id=record.id, reason=_deposit_reason(record))
        record.transaction_id = tx.id
    db.session.flush()
    audit.record(actor, "service_record.verify", "service_record", record.id,
                 minutes=record.minutes, flags=list(record.flags or ()))
    return True


def _mark_verified(actor, record: ServiceRecord) -> bool:
    """pending -> verified, conditionally: of two parallel verifications one changes the row
    (and deposits); the other changes nothing. The ledger is idempotent per source as well."""
    won = db.session.execute(
        update(ServiceRecord).where(ServiceRecord.id == record.id,
                                    ServiceRecord.status == RecordStatus.PENDING.value)
        .values(status=RecordStatus.VERIFIED.value, reviewed_at=clock.now(),
                reviewed_by_id=actor.id if actor else None)
        .execution_options(synchronize_session=False)).rowcount
    db.session.expire(record)
    return bool(won)


@dataclasses.dataclass
class BulkOutcome:
    verified: int = 0
    flagged: int = 0
    skipped: int = 0


def verify_many(actor, records: Iterable[ServiceRecord]) -> BulkOutcome:
    """Verify the unflagged pending records among ``records``; flagged ones are left for a
    one-by-one review (never verified in bulk). A fixed number of statements however many
    records: one conditional UPDATE takes the pending ones (of parallel bulk verifications each
    record goes to one), one query loads what the deposits need, and the ledger writes them
    together (``ledger.deposit_many``)."""
    from timebank.ledger import operations as ledger
    from timebank.members.models import Member

    out = BulkOutcome()
    wanted: list[int] = []
    for record in records:
        _check(actor is None or record.can_review(actor))
        if record.status != RecordStatus.PENDING:
            out.skipped += 1
        elif record.flags:
            out.flagged += 1
        else:
            wanted.append(record.id)
    won_ids = set(db.session.execute(
        update(ServiceRecord).where(ServiceRecord.id.in_(wanted),
                                    ServiceRecord.status == RecordStatus.PENDING.value)
        .values(status=RecordStatus.VERIFIED.value, reviewed_at=clock.now(),
                reviewed_by_id=actor.id if actor else None)
        .returning(ServiceRecord.id)
        .execution_options(synchronize_session=False)).scalars()) if wanted else set()
    out.skipped += len(wanted) - len(won_ids)
    won = list(db.session.execute(
        select(ServiceRecord).where(ServiceRecord.id.in_(won_ids)).order_by(ServiceRecord.id)
        .options(selectinload(ServiceRecord.post),
                 selectinload(ServiceRecord.member).selectinload(Member.community))
        .execution_options(populate_existing=True)).scalars()) if won_ids else []
    paid = [r for r in won if r.minutes > 0]
    txs = ledger.deposit_many(actor, [
        ledger.DepositItem(r.member, r.minutes, "service_record", r.id, _deposit_reason(r))
        for r in paid])
    for record, tx in zip(paid, txs):
        record.transaction_id = tx.id
    db.session.flush()
    audit.record_many(actor, "service_record.verify", "service_record",
                      [(r.id, {"minutes": r.minutes, "flags": []}) for r in won])
    out.verified = len(won)
    return out


def reject(actor, record: ServiceRecord, reason: str) -> None:
    _check(actor is None or record.can_review(actor))
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_l("Give a reason for the rejection."), field="reason")
    if record.status != RecordStatus.PENDING:
        raise Invalid(_l("Only a record awaiting verification can be rejected."))
    record.status = RecordStatus.REJECTED.value
    record.reject_reason = reason[:500]
    record.reviewed_at, record.reviewed_by_id = clock.now(), actor.id if actor else None
    db.session.flush()
    with force_locale("zh_CN"):
        subject = _("Service record not accepted")
        body = _("Your service record of %(when)s was not accepted: %(r)s",
                 when=_local(record.started_at), r=record.reject_reason)
    _notify(record.member.user_id, subject, body, path_for("posts.card"),
            f"record-rejected:{record.id}")
    audit.record(actor, "service_record.reject", "service_record", record.id, reason=reason)



def revoke(actor, record: ServiceRecord, reason: str) -> bool:
    """Withdraw a verification made in error: the deposit is reversed in the ledger (which
    lowers the member's balance and verified service hours) and the record is marked withdrawn.
    Refused when the member has already spent the hours. Returns False when it was already
    withdrawn."""
    _check(actor is None or record.can_review(actor))
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_l("Give a reason for withdrawing the verification."), field="reason")
    if record.status == RecordStatus.REVOKED:
        return False
    if record.status != RecordStatus.VERIFIED:
        raise Invalid(_l("Only a verified record can have its verification withdrawn."))
    # The record's status changes first: of parallel withdrawals the first takes the row and the
    # others find nothing to change (on PostgreSQL they wait for its commit), so the ledger
    # sees one reversal. A refused reversal raises and the caller's rollback undoes both.
    if not _mark_revoked(record.id, actor, reason[:500]):
        return False
    if record.transaction_id is not None:
        from timebank.ledger import operations as ledger
        from timebank.ledger.models import Transaction

        ledger.reverse(actor, db.session.get(Transaction, record.transaction_id), reason[:500],
                       source_reviewer=True)
    return True


def _mark_revoked(record_id: int, actor, reason: str) -> int:
    """The conditional status change (verified -> revoked); returns the number of rows changed."""
    changed = db.session.execute(
        update(ServiceRecord).where(ServiceRecord.id == record_id,
                                    ServiceRecord.status == RecordStatus.VERIFIED.value)
        .values(status=RecordStatus.REVOKED.value, revoked_at=clock.now(),
                revoked_by_id=actor.id if actor else None, revoke_reason=reason)
        .execution_options(synchronize_session=False)).rowcount
    if changed:
        record = db.session.get(ServiceRecord, record_id)
        db.session.expire(record)
        with force_locale("zh_CN"):
            subject = _("Service record verification withdrawn")
            body = _("The verification of your service record of %(when)s was withdrawn and its "
                     "hours taken back: %(r)s", when=_local(record.started_at), r=reason)
        _notify(record.member.user_id, subject, body, path_for("posts.card"),
                f"record-revoked:{record_id}")
        audit.record(actor, "service_record.revoke", "service_record", record_id,
                     minutes=record.minutes, reason=reason)
    return changed


@signals.ledger_reversed.connect
def _deposit_reversed(original, *, reversal, actor, reason, **_extra) -> None:
    """A service record's deposit was reversed (on the ledger's own page; a withdrawal made
    here has marked the record already, so this changes nothing)."""
    if original.source_type != "service_record":
        return
    record_id = db.session.execute(select(ServiceRecord.id).where(
        ServiceRecord.transaction_id == original.id)).scalar_one_or_none()
    if record_id is not None:
        _mark_revoked(record_id, actor, reason)
