"""Sending due deliveries: the body of the ``notify.send_due`` job, and the rules it keeps
(exponential backoff, quiet hours).

A delivery is sent at most once. A run first claims a row with a conditional UPDATE
(``status IN ('queued', 'failed') AND next_attempt_at <= now`` -> ``sending``) and commits it; a
second run (another scheduler, "run now", the CLI) finds the row taken and moves on, on SQLite
and PostgreSQL alike. Only then is the network used, with no transaction open, and the outcome is
recorded with another conditional UPDATE. A process that dies while sending leaves the row in
``sending``; after :data:`STALE_SENDING` it is given up, not retried: the message may have gone
out, and sending it twice is worse than asking staff to look (the log shows it).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from sqlalchemy import select, update

from timebank.accounts.models import User
from timebank.core import clock
from timebank.extensions import db
from timebank.inbox.models import Message
from timebank.notify.models import DUE, Delivery, DeliveryPreference, Status
from timebank.notify.registry import build_transports
from timebank.notify.transports import Outgoing, Recipient, TransportError

log = logging.getLogger(__name__)

STALE_SENDING = dt.timedelta(minutes=15)
ERROR_LIMIT = 500


# --- rules (pure) --------------------------------------------------------------------------------

def backoff(attempts: int, base_seconds: int, cap_seconds: int) -> dt.timedelta:
    """Wait after the ``attempts``-th failed attempt: base, 2 x base, 4 x base ... up to cap."""
    return dt.timedelta(seconds=min(cap_seconds, base_seconds * 2 ** max(attempts - 1, 0)))


def quiet_until(start: dt.time | None, end: dt.time | None,
                at: dt.datetime) -> dt.datetime | None:
    """When ``at`` (aware) falls in the quiet hours [start, end) of Asia/Shanghai wall-clock time,
    the UTC instant they end; otherwise None. ``start > end`` crosses midnight (22:00-07:00)."""
    if start is None or end is None or start == end:
        return None
    local = clock.to_local(at)
    now = local.time().replace(tzinfo=None)
    if start < end:
        inside, end_day = start <= now < end, local.date()
    else:
        inside = now >= start or now < end
        end_day = local.date() + dt.timedelta(days=1) if now >= start else local.date()
    return clock.local_datetime(end_day, end) if inside else None


def deliverable_at(pref: DeliveryPreference | None, at: dt.datetime,
                   urgent: bool = False) -> dt.datetime:
    """``at``, or the end of the recipient's quiet hours when it falls inside them."""
    if urgent or pref is None:
        return at
    return quiet_until(pref.quiet_start, pref.quiet_end, at) or at


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` without any of ``secrets`` (keys, passwords, robot URLs), truncated."""
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text if len(text) <= ERROR_LIMIT else text[:ERROR_LIMIT - 1] + "…"


def all_secrets(transports: dict) -> list[str]:
    return [s for t in transports.values() for s in t.secrets()]


# --- the job -------------------------------------------------------------------------------------

@dataclasses.dataclass
class RunCounts:
    sent: int = 0
    retrying: int = 0
    gave_up: int = 0
    deferred: int = 0
    #: Claimed by another run between our read and our claim.
    taken: int = 0
    stale: int = 0

    def summary(self) -> str:
        return (f"{self.sent} sent, {self.retrying} to retry, {self.gave_up} given up, "
                f"{self.deferred} deferred to the end of quiet hours, {self.taken} taken by "
                f"another run, {self.stale} interrupted")


def send_due(config, limit: int | None = None) -> RunCounts:
    """Send every delivery that is due. Commits: each claim and each outcome on its own."""
    transports = build_transports(config)
    counts = RunCounts()
    now = clock.now()
    counts.stale = _give_up_stale(now)
    ids = db.session.execute(
        select(Delivery.id)
        .where(Delivery.status.in_(DUE), Delivery.next_attempt_at <= now)
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit or config.get("TIMEBANK_NOTIFY_BATCH", 200))
    ).scalars().all()
    db.session.commit()
    for delivery_id in ids:
        _process(delivery_id, transports, config, counts)
    return counts


def _give_up_stale(now: dt.datetime) -> int:
    result = db.session.execute(
        update(Delivery)
        .where(Delivery.status == Status.SENDING.value,
               Delivery.claimed_at < now - STALE_SENDING)
        .values(status=Status.GAVE_UP.value, next_attempt_at=None, updated_at=now,
                last_error="interrupted while sending; not retried, so it is never sent twice")
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount


@dataclasses.dataclass(frozen=True)
class _Work:
    """What one attempt needs, copied out of the session before the network is used."""

    channel: str
    urgent: bool
    attempts: int
    outgoing: Outgoing
    recipient: Recipient
    quiet: tuple[dt.time | None, dt.time | None]


def _load(delivery_id: int) -> _Work | None:
    row = db.session.execute(
        select(Delivery, Message, User, DeliveryPreference)
        .outerjoin(Message, Message.id == Delivery.message_id)
        .outerjoin(User, User.id == Delivery.user_id)
        .outerjoin(DeliveryPreference, DeliveryPreference.user_id == Delivery.user_id)
        .where(Delivery.id == delivery_id)
    ).one_or_none()
    if row is None or row[1] is None:
        return None  # gone, or a one-time code (those are sent at once by send_code)
    delivery, message, user, pref = row
    address = delivery.address
    outgoing = Outgoing(subject=message.subject, body=message.body, link=message.link,
                        delivery_id=delivery.id, message_id=message.id)
    recipient = Recipient(
        user_id=delivery.user_id, name=user.name if user else "",
        phone=(address if delivery.channel == "sms" else user.phone if user else None),
        email=(address if delivery.channel == "email" else pref.email if pref else None))
    return _Work(delivery.channel, delivery.urgent, delivery.attempts, outgoing, recipient,
                 (pref.quiet_start, pref.quiet_end) if pref else (None, None))


def _process(delivery_id: int, transports: dict, config, counts: RunCounts) -> None:
    now = clock.now()
    work = _load(delivery_id)
    if work is None:
        db.session.commit()
        return
    until = None if work.urgent else quiet_until(*work.quiet, now)
    if until is not None:
        # The member changed their quiet hours after the delivery was queued.
        db.session.execute(
            update(Delivery).where(Delivery.id == delivery_id, Delivery.status.in_(DUE))
            .values(next_attempt_at=until, updated_at=now)
            .execution_options(synchronize_session=False))
        db.session.commit()
        counts.deferred += 1
        return
    claimed = db.session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status.in_(DUE),
               Delivery.next_attempt_at <= now)
        .values(status=Status.SENDING.value, attempts=Delivery.attempts + 1, claimed_at=now,
                updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if not claimed:
        counts.taken += 1
        return
    attempts = work.attempts + 1
    transport = transports.get(work.channel)
    error, retryable = None, False
    try:
        if transport is None:
            raise TransportError(f"channel {work.channel} is no longer configured",
                                 retryable=False)
        transport.send(work.outgoing, work.recipient)
    except TransportError as e:
        error, retryable = str(e), e.retryable
    except Exception as e:  # a bug in a transport must not stop the other deliveries
        log.exception("delivery %s: unexpected error", delivery_id)
        error, retryable = f"unexpected {type(e).__name__}", True
    done = clock.now()
    values: dict = {"updated_at": done}
    if error is None:
        values.update(status=Status.SENT.value, sent_at=done, next_attempt_at=None)
        counts.sent += 1
    else:
        values["last_error"] = scrub(error, all_secrets(transports))
        if retryable and attempts < config.get("TIMEBANK_NOTIFY_MAX_ATTEMPTS", 6):
            pref_start, pref_end = work.quiet
            retry_at = done + backoff(attempts, config.get("TIMEBANK_NOTIFY_BACKOFF_SECONDS", 60),
                                      config.get("TIMEBANK_NOTIFY_BACKOFF_MAX_SECONDS", 21600))
            if not work.urgent:
                retry_at = quiet_until(pref_start, pref_end, retry_at) or retry_at
            values.update(status=Status.FAILED.value, next_attempt_at=retry_at)
            counts.retrying += 1
        else:
            values.update(status=Status.GAVE_UP.value, next_attempt_at=None)
            counts.gave_up += 1
        log.warning("delivery %s over %s, attempt %s: %s", delivery_id, work.channel, attempts,
                    values["last_error"])
    db.session.execute(
        update(Delivery).where(Delivery.id == delivery_id,
                               Delivery.status == Status.SENDING.value)
        .values(**values).execution_options(synchronize_session=False))
    db.session.commit()
