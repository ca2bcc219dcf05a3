from __future__ import annotations

from sqlalchemy import select, update

from timebank.core import clock, signals
from timebank.extensions import db
from timebank.inbox.models import Message


def send(recipient, subject: str, body: str = "", link: str | None = None,
         dedup_key: str | None = None) -> Message:
    """Queue an in-app message. With ``dedup_key`` a second send returns the first message."""
    if dedup_key is not None:
        existing = db.session.execute(
            select(Message).where(Message.dedup_key == dedup_key)
        ).scalar_one_or_none()
        if existing is not None:
            return existing
    message = Message(
        recipient_id=recipient.id if hasattr(recipient, "id") else recipient,
        subject=str(subject)[:200],
        body=str(body),
        link=link,
        dedup_key=dedup_key,
        created_at=clock.now(),
    )
    db.session.add(message)
    db.session.flush()
    signals.message_created.send(message)
    return message


def mark_read(message: Message, actor) -> None:
    if message.read_at is None:
        message.read_at = clock.now()
        db.session.flush()


def mark_all_read(actor) -> int:
    result = db.session.execute(
        update(Message)
        .where(Message.recipient_id == actor.id, Message.read_at.is_(None))
        .values(read_at=clock.now())
    )
    return result.rowcount
