"""Service records: a member's own report, verification (which deposits the hours in the ledger),
rejection and withdrawal of a verification (which reverses the deposit)."""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import (select, update)
from sqlalchemy.orm import selectinload

from timebank.audit import operations as audit
from timebank.core import clock, signals
from timebank.core.errors import Invalid
from timebank.extensions import db
from timebank.posts.errors import (NeedsReview, NotApproved)
from timebank.catalogue.models import PostKind
from timebank.posts.models import (RecordSource, RecordStatus, ServiceRecord)
from timebank.posts.operations.common import (MAX_DAY_MINUTES, REPORT_MAX_AGE, _check,
                                              _is_member_self, _local, _notify, path_for)
from timebank.posts.operations.attendance import _flag


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
