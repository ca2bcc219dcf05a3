"""Publishing posts and managing their sessions: create, edit, publish, close, cancel, add and
move sessions."""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import (delete, insert, select, update)

from timebank.audit import operations as audit
from timebank.core import clock
from timebank.core.errors import Invalid
from timebank.core.validators import clean_text
from timebank.extensions import db
from timebank.orgs.models import OrgKind, OrgNode
from timebank.catalogue.models import PostKind
from timebank.posts.models import (Claim, ClaimStatus, Post, PostSession,
                                   PostStatus, WaitlistEntry, WaitStatus, post_skills)
from timebank.posts.schedule import MAX_SESSIONS, Schedule, ScheduleError, expand
from timebank.posts.operations.common import (MAX_CAPACITY, MAX_CREDIT_MINUTES, _check, _local,
                                              _manages, _notify, path_for, upcoming_sessions)
from timebank.posts.operations.claims import promote_waitlist
from timebank.posts import search


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
                               place=clean_text(data.place)[:200], skill_ids=skill_ids,
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
    search.index_post(post)
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
    search.index_post(post)
    audit.record(actor, "post.update", "post", post.id)
    if post.status == PostStatus.PUBLISHED:
        for session in upcoming_sessions(post):
            promote_waitlist(session)


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
