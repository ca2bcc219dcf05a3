"""Rows to JSON. Times are ISO 8601 in the district's zone (e.g. ``2026-12-05T09:00:00+08:00``)."""
from __future__ import annotations

import datetime as dt

from flask import jsonify

from timebank.core import clock


def error(status: int, code: str, message: str):
    return jsonify({"code": code, "message": str(message)}), status


def when(value: dt.datetime | None) -> str | None:
    return clock.to_local(value).isoformat() if value is not None else None


def session(s, claimed_ids=frozenset()) -> dict:
    return {"id": s.id, "start": when(s.starts_at), "end": when(s.ends_at),
            "capacity": s.capacity, "places_left": s.places_left,
            "minutes_credit": s.minutes_credit, "claimed_by_me": s.id in claimed_ids}


def post(p, sessions, claimed_ids=frozenset()) -> dict:
    kind = p.kind
    return {
        "id": p.id, "title": p.title, "description": p.description, "place": p.place,
        "status": p.status, "open_to_all": p.open_to_all,
        "claim_deadline": when(p.claim_deadline),
        "kind": {"id": kind.id, "code": kind.code, "name": kind.display_name},
        "category": {"id": kind.category.id, "code": kind.category.code,
                     "name": kind.category.display_name},
        "community_code": p.community.code, "community_name": p.community.name,
        "sessions": [session(s, claimed_ids) for s in sessions],
    }


def post_card(card) -> dict:
    return post(card.post, card.sessions, card.claimed_session_ids)


def record(r) -> dict:
    return {"id": r.id, "minutes": r.minutes, "status": r.status, "source": r.source,
            "flags": list(r.flags or ()), "started_at": when(r.started_at),
            "ended_at": when(r.ended_at)}


def claim(c, rec=None) -> dict:
    s = c.session
    return {
        "id": c.id, "post_id": c.post_id, "session_id": c.session_id,
        "post_title": s.post.title, "start": when(s.starts_at), "end": when(s.ends_at),
        "status": c.status, "attendance": c.attendance, "promoted": c.promoted,
        "checked_in_at": when(c.checked_in_at), "checked_out_at": when(c.checked_out_at),
        "created_at": when(c.created_at), "record": record(rec) if rec is not None else None,
    }


def waitlist_entry(w) -> dict:
    return {"id": w.id, "session_id": w.session_id, "status": w.status,
            "created_at": when(w.created_at)}


def entry(e) -> dict:
    return {"transaction_id": e.transaction_id, "at": when(e.at), "kind": e.kind,
            "reason": e.reason, "amount_minutes": e.amount,
            "balance_after_minutes": e.balance_after}


def hours_number(minutes: int | None) -> float:
    """Hours as a JSON number, rounded as the pages show them (``core.web.hours``: one decimal)."""
    from timebank.core.web import hours

    return float(hours(minutes or 0))
