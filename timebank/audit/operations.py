from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from sqlalchemy import insert

from timebank.audit.models import AuditEvent
from timebank.core import clock
from timebank.extensions import db


def record(actor, action: str, target_type: str, target_id: int | None, **detail: Any) -> AuditEvent:
    event = AuditEvent(
        at=clock.now(),
        actor_id=actor.id if actor is not None else None,
        action=action,
        target_type=target_type,
        target_id=target_id,
        detail=detail,
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    db.session.flush()
    return event


def record_many(actor, action: str, target_type: str,
                targets: list[tuple[int | None, dict[str, Any]]]) -> None:
    """One event per (target id, detail) of a bulk action, written by one statement."""
    if not targets:
        return
    now, ip = clock.now(), request.remote_addr if has_request_context() else None
    actor_id = actor.id if actor is not None else None
    db.session.execute(insert(AuditEvent), [
        {"at": now, "actor_id": actor_id, "action": action, "target_type": target_type,
         "target_id": target_id, "detail": detail, "ip": ip}
        for target_id, detail in targets])
