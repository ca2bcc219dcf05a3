"""Check-in by QR code, staff marking attendance, and closing a session's attendance: each turns a
claim into a service record for staff to verify."""
from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from sqlalchemy import (func, select, update)

from timebank.audit import operations as audit
from timebank.core import clock, settings
from timebank.core.errors import Conflict, Forbidden, Invalid, NotFound
from timebank.extensions import db
from timebank.posts import qr
from timebank.posts.errors import DeadlinePassed, NotApproved, PostClosed, PostFull
from timebank.posts.models import (Attendance, Claim, ClaimStatus, Flag, Post, PostSession,
                                   PostStatus, RecordSource, RecordStatus, ServiceRecord)
from timebank.posts.operations.claims import _claim_session
from timebank.posts.operations.common import (CHECKIN_OPENS, FAR_CHECKIN, MAX_DAY_MINUTES, _check,
                                              _is_member_self, _manages, member_may_see)
from timebank.posts.rules import CHECKIN_MAX_DISTANCE


# --- check-in, attendance and service records --------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Position:
    """A point in WGS-84 degrees (what a phone's geolocation gives)."""

    latitude: float
    longitude: float

    @classmethod
    def parse(cls, latitude, longitude) -> Position | None:
        """From request values: None when both are missing; :class:`Invalid` when only one is
        given, or either is not a number in range."""
        if latitude in (None, "") and longitude in (None, ""):
            return None
        if isinstance(latitude, bool) or isinstance(longitude, bool):
            raise Invalid(_l("The position is not valid."), field="latitude")
        try:
            lat, lng = float(latitude), float(longitude)
        except (TypeError, ValueError):
            raise Invalid(_l("The position is not valid."), field="latitude") from None
        if not (math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90
                and -180 <= lng <= 180):
            raise Invalid(_l("The position is not valid."), field="latitude")
        return cls(lat, lng)


def distance_m(a: Position, b: Position) -> int:
    """Great-circle distance in whole metres (haversine; a metre off is nothing at a door)."""
    phi1, phi2 = math.radians(a.latitude), math.radians(b.latitude)
    dphi, dlmb = phi2 - phi1, math.radians(b.longitude - a.longitude)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return int(round(2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))))


_EARTH_RADIUS_M = 6_371_008.8


def post_position(post: Post) -> Position | None:
    if post.latitude is None or post.longitude is None:
        return None
    return Position(post.latitude, post.longitude)


def set_location(actor, post: Post, position: Position | None) -> None:
    """Staff set (or clear, with None) where the post takes place, e.g. from their phone at the
    door; later scan check-ins record their distance from it."""
    _check(_manages(actor, post))
    post.latitude = position.latitude if position else None
    post.longitude = position.longitude if position else None
    db.session.flush()
    audit.record(actor, "post.location", "post", post.id, set=position is not None)


@dataclasses.dataclass
class CheckinResult:
    claim: Claim
    action: str  # "check_in" or "check_out"
    record: ServiceRecord | None
    #: The member had no claim and was signed up on the spot (a walk-in).
    walked_in: bool = False
    #: Metres from the post's place at check-in, when both positions were known.
    distance_m: int | None = None
    #: Beyond the allowed distance: the record will be flagged for review.
    far: bool = False


def check_in(actor, member, token: str, action: str | None = None, *, walk_in: bool = False,
             position: Position | None = None) -> CheckinResult:
    """Scan of a session's QR code: the first scan checks in, the next checks out (or say which
    with ``action`` "check_in"/"check_out"). Checking out produces the service record.

    ``walk_in``: a member without a claim is signed up first, when the session has a free
    place (the claim's own conditional update, so walk-ins never overfill a session).
    ``position``: the phone's, recorded as a distance from the post's place."""
    _check(_is_member_self(actor, member))
    session_id = qr.read_token(token, clock.now())
    session = db.session.get(PostSession, session_id)
    if session is None:
        raise NotFound()
    return _check_in_session(actor, member, session, action, walk_in, position)


def check_in_member(actor, session: PostSession, member, action: str | None = None, *,
                    walk_in: bool = True) -> CheckinResult:
    """Staff check a member in or out of a session they manage (scanning the member's own
    code): the same rules as the member's own scan, walk-ins included."""
    _check(actor is not None and _manages(actor, session.post))
    return _check_in_session(actor, member, session, action, walk_in, None)


def _active_claim(session: PostSession, member) -> Claim | None:
    return db.session.execute(select(Claim).where(
        Claim.session_id == session.id, Claim.member_id == member.id,
        Claim.status == ClaimStatus.ACTIVE.value)).scalar_one_or_none()


def _check_in_session(actor, member, session: PostSession, action: str | None, walk_in: bool,
                      position: Position | None) -> CheckinResult:
    now = clock.now()
    if action not in (None, "check_in", "check_out"):
        raise Invalid(_l("Unknown action."), field="action")
    claim_row = _active_claim(session, member)
    if claim_row is None and not walk_in:
        raise Forbidden(_l("You have not claimed this session."))
    if session.cancelled or session.post.status == PostStatus.CANCELLED:
        raise PostClosed(_l("This session has been cancelled."))
    if now < session.starts_at - CHECKIN_OPENS:
        raise Conflict(_l("Check-in opens %(n)d minutes before the session starts.",
                          n=int(CHECKIN_OPENS.total_seconds() // 60)))
    if now > session.ends_at + qr.GRACE:
        raise Conflict(_l("This session is over; check-in and check-out have closed."))
    walked_in = False
    if claim_row is None:
        if action == "check_out":
            raise Conflict(_l("Check in first."))
        claim_row, walked_in = _walk_in(actor, member, session, now), True
    if action is None:
        action = "check_in" if claim_row.checked_in_at is None else "check_out"
    if action == "check_in":
        if claim_row.checked_in_at is not None:
            raise Conflict(_l("You have already checked in."))
        claim_row.checked_in_at = now
        claim_row.attendance = Attendance.ATTENDED.value
        place = post_position(session.post)
        if place is not None and position is not None:
            claim_row.checkin_distance_m = distance_m(place, position)
        db.session.flush()
        distance = claim_row.checkin_distance_m
        return CheckinResult(claim_row, action, None, walked_in, distance, _too_far(distance))
    if claim_row.checked_in_at is None:
        raise Conflict(_l("Check in first."))
    if claim_row.checked_out_at is not None or _record_of(claim_row) is not None:
        raise Conflict(_l("You have already checked out."))
    claim_row.checked_out_at = now
    record = _record_for_claim(actor, claim_row, claim_row.checked_in_at, now)
    distance = claim_row.checkin_distance_m
    return CheckinResult(claim_row, action, record, False, distance, _too_far(distance))


def _walk_in(actor, member, session: PostSession, now: dt.datetime) -> Claim:
    """Sign up on the spot: the claim's rules (approved member, a post they may claim, free
    place, no overlapping claim, the monthly limit), except that the claim deadline is for
    planning and a session that has started still takes a walk-in until it ends."""
    post = session.post
    if not member.is_approved:
        raise NotApproved(_l("Only members whose reporting has been approved may sign up."))
    if not member_may_see(member, post):
        raise Forbidden(_l("This post is only open to members of its own street."))
    if post.status != PostStatus.PUBLISHED:
        raise PostClosed(_l("This post is closed; there is no signing up on the spot."))
    if now >= session.ends_at:
        raise DeadlinePassed(_l("This session has ended."))
    try:
        claim_row = _claim_session(member, session, now, started_ok=True)
    except PostFull:
        raise PostFull(_l("This session is full: there is no free place to sign up on the "
                          "spot.")) from None
    audit.record(actor, "claim.walk_in", "claim", claim_row.id, member=member.id,
                 session=session.id)
    return claim_row


def _max_distance() -> int:
    return int(settings.get(CHECKIN_MAX_DISTANCE))


def _too_far(distance: int | None) -> bool:
    return distance is not None and distance > _max_distance()


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
    on one local day, a check-in far from the session's start or from the post's place.
    Overlapping pending records are flagged on both sides."""
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
    if claim_row is not None and _too_far(claim_row.checkin_distance_m):
        flags.add(Flag.FAR_LOCATION.value)
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
