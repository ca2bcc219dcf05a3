"""Body of the ``notify.send_due`` job (see ``jobs/table.py``)."""
from __future__ import annotations

from flask import current_app

from timebank.notify import delivery


def send_due(scheduled_for=None) -> str:
    """Send the deliveries that are due. Idempotent: a delivery is claimed before it is sent,
    so a second run of the same minute (or an overlapping one) sends nothing twice. Unlike
    other bodies this one commits as it goes: a message that left must be recorded as sent
    before the next one is tried, whatever happens after."""
    return delivery.send_due(current_app.config).summary()
