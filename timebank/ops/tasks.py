"""Scheduled job bodies of operations."""
from __future__ import annotations

from flask import current_app

from timebank.extensions import db


def nightly_backup() -> str:
    """Nightly: a backup into ``TIMEBANK_BACKUP_DIR``, keeping the newest
    ``TIMEBANK_BACKUP_KEEP``. A failed backup fails the run (an unexpected error)."""
    from timebank.ops import backup

    db.session.rollback()  # hold no transaction (on SQLite: no lock) while copying
    result = backup.backup(db.engine.url, current_app.config["TIMEBANK_BACKUP_DIR"],
                           int(current_app.config["TIMEBANK_BACKUP_KEEP"]))
    return result.summary()
