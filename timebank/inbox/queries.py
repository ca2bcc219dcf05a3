from __future__ import annotations

from sqlalchemy import func, select

from timebank.extensions import db
from timebank.inbox.models import Message


def unread_count(user) -> int:
    return db.session.execute(
        select(func.count()).where(Message.recipient_id == user.id, Message.read_at.is_(None))
    ).scalar_one()


def messages_for(user):
    return select(Message).where(Message.recipient_id == user.id).order_by(Message.id.desc())
