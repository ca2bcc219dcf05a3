"""ledger: refuse TRUNCATE of transactions and postings on PostgreSQL

Revision ID: 0009c
Revises: 0008
Create Date: 2026-11-22 10:00:00.000000

The append-only triggers of 0003 are row-level, and TRUNCATE fires no row triggers:
``TRUNCATE ledger_postings, ledger_transactions CASCADE`` emptied the ledger. Statement-level
BEFORE TRUNCATE triggers close that. SQLite has no TRUNCATE (its ``DELETE FROM t`` without WHERE
runs the row triggers), so there is nothing to add there. A superuser can still get past any
trigger (``session_replication_role = replica``, which the test harness uses to empty tables):
the app should run as a role that owns nothing (see README, "Database roles").
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0009c'
down_revision = '0008'
branch_labels = None
depends_on = None

APPEND_ONLY = ("ledger_transactions", "ledger_postings")

#: ``ledger_reject_change()`` (0003) raises whatever the operation; TG_OP names it.
PG_STATEMENTS = [
    f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
    "FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change()"
    for table in APPEND_ONLY
]

PG_DROP = [f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}" for table in APPEND_ONLY]


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_STATEMENTS:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_DROP:
            op.execute(statement)
