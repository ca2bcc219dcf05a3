"""Showing a member's ID number or full mobile number to somebody else: each time is audited."""
from __future__ import annotations

from timebank.audit import operations as audit
from timebank.core.errors import Forbidden
from timebank.members.models import Member


def reveal_id_number(actor, member: Member) -> str | None:
    """The full ID number for staff of the member's community; every reveal is logged."""
    if actor is None or not member.can_manage(actor):
        raise Forbidden()
    audit.record(actor, "member.reveal_id_number", "member", member.id)
    return member.id_number


def reveal_contact_card(actor, member: Member) -> None:
    """Log that someone other than the member opened their contact card, which shows the full
    mobile number (the directory and profile show it masked). Like the ID number, every reveal
    of a phone number to somebody else leaves an audit entry."""
    if actor is None or not member.can_view(actor):
        raise Forbidden()
    if actor.id != member.user_id:
        audit.record(actor, "member.reveal_phone", "member", member.id)
