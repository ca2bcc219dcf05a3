"""Operations: backup and restore, health and readiness, metrics, logs, database outages."""
from __future__ import annotations

import os

from flask import Flask


def init_app(app: Flask) -> None:
    """Settings, logging, metrics, the 503 for a database outage and the health routes."""
    from timebank.ops import health, logs, metrics, resilience

    env = os.environ.get
    app.config.setdefault("TIMEBANK_LOG_FORMAT", env("TIMEBANK_LOG_FORMAT", "text").lower())
    app.config.setdefault("TIMEBANK_METRICS_TOKEN", env("TIMEBANK_METRICS_TOKEN", ""))
    app.config.setdefault("TIMEBANK_HEARTBEAT_MAX_AGE",
                          float(env("TIMEBANK_HEARTBEAT_MAX_AGE", "180")))
    app.config.setdefault("TIMEBANK_BACKUP_DIR",
                          env("TIMEBANK_BACKUP_DIR", os.path.join(app.instance_path, "backups")))
    app.config.setdefault("TIMEBANK_BACKUP_KEEP", int(env("TIMEBANK_BACKUP_KEEP", "14")))
    logs.configure(app)
    metrics.init_app(app)
    resilience.init_app(app)
    app.register_blueprint(health.bp)
