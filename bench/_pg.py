"""The scratch PostgreSQL databases the benchmarks create and drop (never the one a user names
for their own data: each benchmark derives its database's name or documents that it wipes it).
"""
from __future__ import annotations

import sqlalchemy as sa


def _admin(url: sa.URL):
    return sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")


def recreate(url: str | sa.URL, keep: bool = False) -> None:
    """Drop and create the database ``url`` names; with ``keep``, leave one that exists."""
    url = sa.make_url(url)
    admin = _admin(url)
    with admin.connect() as conn:
        exists = keep and conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                       {"n": url.database}).first()
        if not exists:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()


def drop(url: str | sa.URL) -> None:
    """Drop the database ``url`` names (a no-op for any other kind of URL)."""
    url = sa.make_url(url)
    if not url.drivername.startswith("postgresql"):
        return
    admin = _admin(url)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()
