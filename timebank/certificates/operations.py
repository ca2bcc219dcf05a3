"""Issuing and revoking certificates (both audited). Operations flush, never commit."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from timebank.audit import operations as audit
from timebank.certificates import queries
from timebank.certificates.models import Certificate, CertificateStatus
from timebank.core import clock
from timebank.core.errors import Forbidden, Invalid
from timebank.extensions import db
from timebank.members.models import Member

#: The longest period one certificate covers.
MAX_PERIOD = dt.timedelta(days=366 * 10)


class NothingToCertify(Invalid):
    code = "nothing_to_certify"
    default_message = _l("There is no verified service in this period.")


def canonical(content: dict) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def content_hash(content: dict) -> str:
    """SHA-256 of the issued content (shown on the PDF and on the verification page)."""
    return hashlib.sha256(canonical(content)).hexdigest()


def _check_period(start, end) -> None:
    if not isinstance(start, dt.date) or not isinstance(end, dt.date):
        raise Invalid(_l("Choose the start and the end of the period."), field="start")
    if end < start:
        raise Invalid(_l("The end of the period must not be before its start."), field="end")
    if end > clock.today():
        raise Invalid(_l("The period cannot end in the future."), field="end")
    if end - start > MAX_PERIOD:
        raise Invalid(_l("One certificate covers at most ten years."), field="start")


def issue(actor, member: Member, start: dt.date, end: dt.date) -> Certificate:
    """A certificate of ``member``'s verified service from ``start`` to ``end`` (local dates,
    both included), issued by the member's community. Asked for by the member themself (or by
    staff managing their community). A valid certificate of the same member and period is
    superseded by the new one."""
    if actor is not None and actor.id != member.user_id and not member.can_manage(actor):
        raise Forbidden()
    if not member.is_approved:
        raise Invalid(_l("Certificates are issued to approved members only."))
    _check_period(start, end)
    # One issuer at a time per member (PostgreSQL; SQLite writers are serialised anyway), so of
    # two parallel requests for the same period the second supersedes the first.
    db.session.execute(select(Member.id).where(Member.id == member.id).with_for_update())
    services = queries.certified_services(member, start, end)
    if not services:
        raise NothingToCertify()
    now = clock.now()
    total = sum(s.minutes for s in services)
    cert = Certificate(
        serial=f"pending-{secrets.token_hex(8)}", code=secrets.token_urlsafe(24),
        member_id=member.id, issuer_id=member.community_id, period_start=start,
        period_end=end, total_minutes=total, content={}, sha256="",
        status=CertificateStatus.VALID.value, issued_at=now,
        issued_by_id=actor.id if actor is not None else None)
    db.session.add(cert)
    db.session.flush()
    cert.serial = f"ZYFW-{clock.to_local(now).year}-{cert.id:06d}"
    community = member.community
    cert.content = {
        "serial": cert.serial,
        "name": member.user.name,
        "id_type": "居民身份证" if member.id_number_ciphertext else "",
        "id_number": member.masked_id_number,
        "volunteer_number": f"TB{member.id:08d}",
        "issuer": community.full_name or community.name,
        "period": [start.isoformat(), end.isoformat()],
        "total_minutes": total,
        "services": [[clock.to_local(s.started_at).date().isoformat(), s.what, s.place,
                      s.minutes] for s in services],
        "issued_on": clock.to_local(now).date().isoformat(),
    }
    cert.sha256 = content_hash(cert.content)
    db.session.flush()
    replaced = db.session.execute(
        update(Certificate).where(Certificate.member_id == member.id,
                                  Certificate.period_start == start,
                                  Certificate.period_end == end,
                                  Certificate.status == CertificateStatus.VALID.value,
                                  Certificate.id != cert.id)
        .values(status=CertificateStatus.SUPERSEDED.value, superseded_by_id=cert.id)
        .returning(Certificate.id).execution_options(synchronize_session=False)).scalars().all()
    audit.record(actor, "certificate.issue", "certificate", cert.id, member_id=member.id,
                 serial=cert.serial, period=cert.content["period"], total_minutes=total,
                 sha256=cert.sha256, supersedes=list(replaced))
    return cert


def revoke(actor, cert: Certificate, reason: str) -> bool:
    """Staff managing the member's community revoke a valid certificate (it then shows as
    revoked on the verification page). Returns False when it was no longer valid."""
    if actor is None or not cert.member.community.can_manage(actor):
        raise Forbidden()
    reason = (reason or "").strip()
    if not reason or len(reason) > 500:
        raise Invalid(_l("Give a reason for revoking (up to 500 characters)."), field="reason")
    won = db.session.execute(
        update(Certificate).where(Certificate.id == cert.id,
                                  Certificate.status == CertificateStatus.VALID.value)
        .values(status=CertificateStatus.REVOKED.value, revoked_at=clock.now(),
                revoked_by_id=actor.id, revoke_reason=reason)
        .execution_options(synchronize_session=False)).rowcount
    db.session.expire(cert)
    if not won:
        return False
    audit.record(actor, "certificate.revoke", "certificate", cert.id, member_id=cert.member_id,
                 serial=cert.serial, reason=reason)
    return True
