"""Writes of the delivery log and the preferences. Flush, never commit.

Deliveries of inbox messages are queued by :func:`enqueue`, which listens to
``core.signals.message_created``: every ``inbox.operations.send`` anywhere queues its deliveries
in the sender's own transaction. The ``notify.send_due`` job sends them (``delivery.py``).
"""
from __future__ import annotations

import datetime as dt
import re

from flask import current_app
from flask_babel import lazy_gettext as _l

from timebank.accounts.models import User
from timebank.core import clock, signals
from timebank.core.errors import DomainError, Invalid
from timebank.core.validators import is_cn_mobile, normalize_phone
from timebank.extensions import db
from timebank.notify.delivery import all_secrets, deliverable_at, scrub
from timebank.notify.models import Channel, Delivery, DeliveryPreference, Status
from timebank.notify.registry import build_transports
from timebank.notify.transports import Outgoing, Recipient, TransportError

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CODE_RE = re.compile(r"^[0-9A-Za-z]{4,10}$")


class CodeNotSent(DomainError):
    code = "code_not_sent"
    status = 503
    default_message = _l("The code could not be sent. Please try again in a minute.")

    def __init__(self, message=None, delivery: Delivery | None = None, **details) -> None:
        super().__init__(message, **details)
        #: The flushed log row (status gave_up); commit it to keep the failure in the log.
        self.delivery = delivery


def transports():
    return build_transports(current_app.config)


def member_channels() -> list[str]:
    """Channels configured for inbox messages, in display order."""
    configured = transports()
    return [c.value for c in Channel if c.value in configured
            and configured[c.value].carries("message")]


def default_channels() -> list[str]:
    raw = current_app.config.get("TIMEBANK_NOTIFY_DEFAULT_CHANNELS", "")
    return [c.strip() for c in raw.split(",") if c.strip()]


def preferences_of(user_id: int) -> DeliveryPreference | None:
    return db.session.get(DeliveryPreference, user_id)


# --- inbox messages ------------------------------------------------------------------------------

def enqueue(message) -> list[Delivery]:
    """Queue one delivery per channel the recipient chose (or the default channels) and the
    platform has configured. Nothing when no channel is configured."""
    channels = member_channels()
    if not channels:
        return []
    user = db.session.get(User, message.recipient_id)
    if user is None or not user.active:
        return []
    pref = preferences_of(user.id)
    wanted = pref.channel_list if pref is not None else default_channels()
    now = clock.now()
    at = deliverable_at(pref, now)
    out = []
    for channel in channels:
        if channel not in wanted:
            continue
        address = None
        if channel == Channel.EMAIL:
            address = pref.email if pref is not None else None
            if not address:
                continue
        elif channel == Channel.SMS:
            address = user.phone
        out.append(Delivery(message_id=message.id, user_id=user.id, channel=channel,
                            address=address, status=Status.QUEUED.value, attempts=0,
                            next_attempt_at=at, created_at=now, updated_at=now))
    db.session.add_all(out)
    db.session.flush()
    return out


def _on_message_created(message, **_kw) -> None:
    enqueue(message)


signals.message_created.connect(_on_message_created)


def retry(delivery: Delivery, actor) -> Delivery:
    """Staff's "retry": a given-up or failed message delivery is queued again, now."""
    if delivery.message_id is None:
        raise Invalid(_l("One-time codes cannot be sent again from the log."))
    if delivery.status not in (Status.GAVE_UP.value, Status.FAILED.value):
        raise Invalid(_l("Only failed deliveries can be retried."))
    now = clock.now()
    delivery.status = Status.QUEUED.value
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.updated_at = now
    db.session.flush()
    return delivery


# --- preferences ---------------------------------------------------------------------------------

def save_preferences(actor, channels: list[str], email: str | None,
                     quiet_start: dt.time | None, quiet_end: dt.time | None
                     ) -> DeliveryPreference:
    """The actor's own preferences (nobody sets another person's)."""
    available = member_channels()
    unknown = [c for c in channels if c not in available]
    if unknown:
        raise Invalid(_l("This channel is not available."), field="channels")
    email = (email or "").strip() or None
    if email is not None and not EMAIL_RE.match(email):
        raise Invalid(_l("Enter a valid e-mail address."), field="email")
    if Channel.EMAIL in channels and email is None:
        raise Invalid(_l("Enter the e-mail address messages should go to."), field="email")
    if (quiet_start is None) != (quiet_end is None):
        raise Invalid(_l("Give both the start and the end of the quiet hours, or neither."),
                      field="quiet_end")
    if quiet_start is not None and quiet_start == quiet_end:
        raise Invalid(_l("Quiet hours must not start and end at the same time."),
                      field="quiet_end")
    pref = preferences_of(actor.id)
    if pref is None:
        pref = DeliveryPreference(user_id=actor.id)
        db.session.add(pref)
    pref.channels = ",".join(c for c in available if c in channels)
    pref.email = email
    pref.quiet_start, pref.quiet_end = quiet_start, quiet_end
    pref.updated_at = clock.now()
    db.session.flush()
    return pref


# --- one-time codes ------------------------------------------------------------------------------

#: Channels that may carry a one-time code, by kind of address, in order of preference.
CODE_CHANNELS = {"email": (Channel.EMAIL, Channel.WEBHOOK), "phone": (Channel.SMS, Channel.WEBHOOK)}


def send_code(phone_or_email: str, code: str, purpose: str, subject=None) -> Delivery:
    """Send a one-time code now (urgent: quiet hours do not apply), by SMS to a mobile number or
    by e-mail to an address (the signed webhook when that is all there is).

    Tried once, synchronously: a code that arrives ten minutes late is useless, and keeping it
    to retry would store it; the person asks for a new one instead. The log row records where
    and for what, never the code. Raises :class:`CodeNotSent` (with the flushed row) on failure.
    Call it outside a long write transaction: it waits for the provider.
    """
    value = (phone_or_email or "").strip()
    if not CODE_RE.match(code or ""):
        raise Invalid(_l("A one-time code is 4 to 10 letters or digits."), field="code")
    if not purpose or len(purpose) > 40:
        raise Invalid(_l("The purpose of the code is missing."), field="purpose")
    if "@" in value:
        if not EMAIL_RE.match(value):
            raise Invalid(_l("Enter a valid mobile number or e-mail address."), field="to")
        kind, recipient = "email", Recipient(email=value)
    else:
        value = normalize_phone(value)
        if not is_cn_mobile(value):
            raise Invalid(_l("Enter a valid mobile number or e-mail address."), field="to")
        kind, recipient = "phone", Recipient(phone=value)
    configured = transports()
    channel = next((c.value for c in CODE_CHANNELS[kind]
                    if c.value in configured and configured[c.value].carries("code")), None)
    if channel is None:
        raise CodeNotSent(_l("No channel is configured that can send codes to this address."))
    # The provider first, the row after: no write (on SQLite: no write lock) is held while
    # waiting for the provider.
    outgoing = Outgoing(subject=str(subject or _l("Your verification code")), kind="code",
                        code=code, purpose=purpose)
    started = clock.now()
    error = None
    try:
        configured[channel].send(outgoing, recipient)
    except TransportError as e:
        error = e
    done = clock.now()
    delivery = Delivery(channel=channel, address=value, purpose=purpose, urgent=True,
                        attempts=1, claimed_at=started, created_at=started, updated_at=done)
    if error is None:
        delivery.status, delivery.sent_at = Status.SENT.value, done
    else:
        delivery.status = Status.GAVE_UP.value
        delivery.last_error = scrub(str(error).replace(code, "***"), all_secrets(configured))
    db.session.add(delivery)
    db.session.flush()
    if error is not None:
        raise CodeNotSent(delivery=delivery, retryable=error.retryable)
    return delivery
