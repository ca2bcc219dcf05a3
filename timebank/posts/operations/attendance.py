"""Check-in by QR code, staff marking attendance, and closing a session's attendance: each turns a
claim into a service record for staff to verify."""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from sqlalchemy import (func, select, update)

from timebank.audit import operations as audit
from timebank.core import clock
from timebank.core.errors import Conflict, Forbidden, Invalid, NotFound
from timebank.extensions import db
from timebank.posts import qr
from timebank.posts.errors import PostClosed
from timebank.posts.models import (Attendance, Claim, ClaimStatus, Flag, PostSession,
                                   RecordSource, RecordStatus, ServiceRecord)
from timebank.posts.operations.common import (CHECKIN_OPENS, FAR_CHECKIN, MAX_DAY_MINUTES, _check,
                                              _is_member_self, _manages)


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
        raise Conflict(_l("Check-in opens %(n)d minutes before the session starts.",
                          n=int(CHECKIN_OPENS.total_seconds() // 60)))
    if action is None:
        action = "check_in" if claim_row.checked_in_at is None else "check_out"
    if action == "check_in":
        if claim_row.checked_in_at is not None:
            raise Conflict(_l("You have already checked in."))
        claim_row.checked_in_at = now
        claim_row.attendance = Attendance.ATTENDED.value
        db.session.flush()
        return CheckinResult(claim_row, action, None)
    if action != "check_out":
        raise Invalid(_l("Unknown action."), field="action")
    if claim_row.checked_in_at is None:
        raise Conflict(_l("Check in first."))
    if claim_row.checked_out_at is not None or _record_of(claim_row) is not None:
        raise Conflict(_l("You have already checked out."))
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
