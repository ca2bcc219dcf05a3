"""Claims and waiting lists.

Capacity: ``post_sessions.claimed`` only changes in a conditional UPDATE that tests it against
``capacity`` in the same statement (and the claim row is written in the same transaction), so
parallel claims for the last place cannot overbook, on SQLite or on PostgreSQL. A CHECK constraint
and UNIQUE(session, member) back this up in the schema.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import (Boolean, and_, bindparam, case, delete, func, select, text,
                        update)
from sqlalchemy import column as sa_column

from timebank.audit import operations as audit
from timebank.core import clock, signals
from timebank.core.db import UTCDateTime
from timebank.core.errors import Conflict, DomainError, NotFound
from timebank.extensions import db
from timebank.posts.errors import (AlreadyClaimed, DeadlinePassed, MonthlyLimitReached,
                                   NotApproved, PostClosed, PostFull, TimeConflict)
from timebank.posts.models import (Claim, ClaimStatus, Post, PostSession,
                                   PostStatus, WaitlistEntry, WaitStatus)
from timebank.posts.operations.common import (_check, _insert_ignoring_duplicates, _is_member_self,
                                              _local, _manages, _notify, member_may_see, path_for,
                                              upcoming_sessions)


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
                   promoted: bool = False, started_ok: bool = False) -> Claim:
    """Write the claim and take a place: the ``INSERT ... ON CONFLICT DO NOTHING RETURNING``
    (which also tests that the claim fits the member) and then the conditional counter update,
    in this order so the session row (the one everybody contends for) stays locked only from the
    update to the commit. One statement on PostgreSQL (_INSERT_CLAIM_AND_TAKE), two on SQLite.
    ``started_ok``: a walk-in at the door may still take a free place of a running session."""
    if session.cancelled:
        raise PostClosed(_l("This session has been cancelled."))
    if session.has_started(now) and not started_ok:
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
            return _claimed(post, ClaimOutcome([_claim_session(member, session, now)], [], []))
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
    return _claimed(post, outcome)


def _claimed(post: Post, outcome: ClaimOutcome) -> ClaimOutcome:
    if outcome.claims:
        signals.post_claimed.send(post, claims=list(outcome.claims), promoted=False)
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
        raise Conflict(_l("This claim is not active."))
    if session.has_started(now):
        raise DeadlinePassed(_l("This session has already started."))
    if not by_staff and post.deadline_passed(now):
        raise DeadlinePassed(_l("The deadline has passed; ask the community staff."))
    result = db.session.execute(
        update(Claim).where(Claim.id == claim.id, Claim.status == ClaimStatus.ACTIVE.value)
        .values(status=ClaimStatus.WITHDRAWN.value, updated_at=now)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise Conflict(_l("This claim is not active."))
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
    if promoted:
        signals.post_claimed.send(session.post, claims=list(promoted), promoted=True)
    return promoted
