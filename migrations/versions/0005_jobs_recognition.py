"""jobs and recognition

Scheduled job runs and run-now requests; award lists (nominees, objections) whose rows are
immutable once frozen (triggers on both databases); year-end ranking snapshots; and members'
yearly verified-service totals for the rankings, kept by a trigger on the ledger's transactions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


FROZEN_TABLES = ("award_lists", "award_nominees", "award_objections")

# A row belongs to a frozen list when its list (itself, for award_lists) is frozen.
_SQLITE_FROZEN = {
    "award_lists": "OLD.status = 'frozen'",
    "award_nominees": "(SELECT status FROM award_lists WHERE id = OLD.list_id) = 'frozen'",
    "award_objections": "(SELECT status FROM award_lists WHERE id = OLD.list_id) = 'frozen'",
}
SQLITE_TRIGGERS = [
    *(f"CREATE TRIGGER {table}_frozen_no_{verb.lower()} BEFORE {verb} ON {table} "
      f"WHEN {cond} BEGIN SELECT RAISE(ABORT, 'award list is frozen'); END"
      for table, cond in _SQLITE_FROZEN.items() for verb in ("UPDATE", "DELETE")),
    *(f"CREATE TRIGGER {table}_frozen_no_insert BEFORE INSERT ON {table} "
      "WHEN (SELECT status FROM award_lists WHERE id = NEW.list_id) = 'frozen' "
      "BEGIN SELECT RAISE(ABORT, 'award list is frozen'); END"
      for table in ("award_nominees", "award_objections")),
]

# --- yearly service totals, kept by a trigger on the append-only ledger -----------------------
# A transaction that carries service minutes (a deposit, or the reversal of one) adds them, and
# +1/-1 session for a service record's deposit/reversal, to its member's row for the year.
# The year is the calendar year in Asia/Shanghai, which has kept UTC+8 without daylight saving
# since 1991; the same fixed offset on both databases (SQLite has no time zone data).
YEAR_SQL = {
    "sqlite": "CAST(strftime('%Y', NEW.created_at, '+8 hours') AS INTEGER)",
    "postgresql": "CAST(EXTRACT(YEAR FROM NEW.created_at + INTERVAL '8 hours') AS INTEGER)",
}
_SESSION_SQL = ("CASE WHEN NEW.source_type = 'service_record' AND NEW.kind = 'deposit' THEN 1 "
                "WHEN NEW.source_type = 'service_record' AND NEW.kind = 'reversal' THEN -1 "
                "ELSE 0 END")


def _add_totals_sql(dialect: str) -> str:
    return (
        "INSERT INTO recognition_service_totals "
        "(member_id, year, minutes, sessions, last_transaction_id) "
        f"SELECT a.member_id, {YEAR_SQL[dialect]}, NEW.service_minutes, {_SESSION_SQL}, NEW.id "
        "FROM ledger_accounts a WHERE a.id = NEW.service_account_id AND a.member_id IS NOT NULL "
        "ON CONFLICT (member_id, year) DO UPDATE SET "
        "minutes = recognition_service_totals.minutes + excluded.minutes, "
        "sessions = recognition_service_totals.sessions + excluded.sessions, "
        "last_transaction_id = excluded.last_transaction_id"
    )


BACKFILL = (
    "INSERT INTO recognition_service_totals (member_id, year, minutes, sessions, "
    "last_transaction_id) "
    "SELECT a.member_id, {year}, SUM(t.service_minutes), "
    + _SESSION_SQL.replace("NEW.", "t.").replace("CASE", "SUM(CASE").replace("END", "END)")
    + ", MAX(t.id) FROM ledger_transactions t "
    "JOIN ledger_accounts a ON a.id = t.service_account_id "
    "WHERE t.service_minutes <> 0 AND a.member_id IS NOT NULL GROUP BY a.member_id, {year}"
)

SQLITE_TRIGGERS.append(
    "CREATE TRIGGER ledger_transactions_recognition_totals AFTER INSERT ON ledger_transactions "
    "WHEN NEW.service_minutes <> 0 AND NEW.service_account_id IS NOT NULL "
    f"BEGIN {_add_totals_sql('sqlite')}; END"
)

PG_STATEMENTS = [
    """
    CREATE FUNCTION award_reject_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      list_status text;
      row_list integer;
    BEGIN
      IF TG_TABLE_NAME = 'award_lists' THEN
        list_status := OLD.status;
        row_list := OLD.id;
      ELSE
        IF TG_OP = 'INSERT' THEN row_list := NEW.list_id; ELSE row_list := OLD.list_id; END IF;
        SELECT status INTO list_status FROM award_lists WHERE id = row_list;
      END IF;
      IF list_status = 'frozen' THEN
        RAISE EXCEPTION 'award list % is frozen (% on % refused)', row_list, TG_OP, TG_TABLE_NAME
          USING ERRCODE = 'restrict_violation';
      END IF;
      IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
      RETURN NEW;
    END $$
    """,
    "CREATE TRIGGER award_lists_frozen BEFORE UPDATE OR DELETE ON award_lists "
    "FOR EACH ROW EXECUTE FUNCTION award_reject_frozen()",
    *(f"CREATE TRIGGER {table}_frozen BEFORE INSERT OR UPDATE OR DELETE ON {table} "
      "FOR EACH ROW EXECUTE FUNCTION award_reject_frozen()"
      for table in ("award_nominees", "award_objections")),
]

PG_STATEMENTS += [
    f"""
    CREATE FUNCTION recognition_add_service() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.service_minutes <> 0 AND NEW.service_account_id IS NOT NULL THEN
        {_add_totals_sql('postgresql')};
      END IF;
      RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER ledger_transactions_recognition_totals AFTER INSERT ON ledger_transactions "
    "FOR EACH ROW EXECUTE FUNCTION recognition_add_service()",
]

PG_DROP = [
    "DROP TRIGGER IF EXISTS ledger_transactions_recognition_totals ON ledger_transactions",
    "DROP FUNCTION IF EXISTS recognition_add_service()",
    *(f"DROP TRIGGER IF EXISTS {table}_frozen ON {table}" for table in FROZEN_TABLES),
    "DROP FUNCTION IF EXISTS award_reject_frozen()",
]


def upgrade():
    op.create_table('job_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.String(length=64), nullable=False),
    sa.Column('scheduled_for', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("origin IN ('schedule', 'request', 'cli')", name=op.f('ck_job_runs_origin_valid')),
    sa.CheckConstraint("outcome IN ('running', 'ok', 'failed', 'skipped')", name=op.f('ck_job_runs_outcome_valid')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_job_runs_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs')),
    sa.UniqueConstraint('job_id', 'scheduled_for', name=op.f('uq_job_runs_job_id_scheduled_for'))
    )
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.create_index('ix_job_runs_started_at', ['started_at'], unique=False)

    op.create_table('job_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.String(length=64), nullable=False),
    sa.Column('scheduled_for', sa.DateTime(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('taken_at', sa.DateTime(), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('result', sa.String(length=32), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'taken', 'done')", name=op.f('ck_job_requests_status_valid')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_job_requests_requested_by_id_users')),
    sa.ForeignKeyConstraint(['run_id'], ['job_runs.id'], name=op.f('fk_job_requests_run_id_job_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_requests'))
    )
    with op.batch_alter_table('job_requests', schema=None) as batch_op:
        batch_op.create_index('ix_job_requests_status', ['status'], unique=False)

    op.create_table('award_lists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('scope_id', sa.Integer(), nullable=False),
    sa.Column('top_n', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('notice_ends_at', sa.DateTime(), nullable=True),
    sa.Column('frozen_at', sa.DateTime(), nullable=True),
    sa.Column('frozen_by_id', sa.Integer(), nullable=True),
    sa.Column('figures_json', sa.Text(), nullable=True),
    sa.Column('figures_sha256', sa.String(length=64), nullable=True),
    sa.CheckConstraint("status <> 'frozen' OR figures_sha256 IS NOT NULL", name=op.f('ck_award_lists_frozen_hashed')),
    sa.CheckConstraint("status = 'draft' OR notice_ends_at IS NOT NULL", name=op.f('ck_award_lists_published_dated')),
    sa.CheckConstraint("status IN ('draft', 'published', 'frozen')", name=op.f('ck_award_lists_status_valid')),
    sa.CheckConstraint('top_n > 0', name=op.f('ck_award_lists_top_n_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_award_lists_created_by_id_users')),
    sa.ForeignKeyConstraint(['frozen_by_id'], ['users.id'], name=op.f('fk_award_lists_frozen_by_id_users')),
    sa.ForeignKeyConstraint(['scope_id'], ['org_nodes.id'], name=op.f('fk_award_lists_scope_id_org_nodes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_award_lists')),
    sa.UniqueConstraint('year', 'kind', 'scope_id', name=op.f('uq_award_lists_year_kind_scope_id'))
    )
    with op.batch_alter_table('award_lists', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_award_lists_scope_id'), ['scope_id'], unique=False)

    op.create_table('award_nominees',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('community_name', sa.String(length=100), nullable=False),
    sa.Column('unit_name', sa.String(length=100), nullable=True),
    sa.Column('service_minutes', sa.BigInteger(), nullable=False),
    sa.Column('sessions', sa.Integer(), nullable=False),
    sa.Column('reached_at', sa.DateTime(), nullable=False),
    sa.Column('star_level', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('removed_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('nominated', 'removed')", name=op.f('ck_award_nominees_status_valid')),
    sa.ForeignKeyConstraint(['list_id'], ['award_lists.id'], name=op.f('fk_award_nominees_list_id_award_lists')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_award_nominees_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_award_nominees')),
    sa.UniqueConstraint('list_id', 'member_id', name=op.f('uq_award_nominees_list_id_member_id'))
    )
    with op.batch_alter_table('award_nominees', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_award_nominees_member_id'), ['member_id'], unique=False)

    op.create_table('award_objections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('nominee_id', sa.Integer(), nullable=False),
    sa.Column('filed_by_id', sa.Integer(), nullable=False),
    sa.Column('filed_at', sa.DateTime(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('open', 'upheld', 'dismissed')", name=op.f('ck_award_objections_status_valid')),
    sa.ForeignKeyConstraint(['filed_by_id'], ['users.id'], name=op.f('fk_award_objections_filed_by_id_users')),
    sa.ForeignKeyConstraint(['list_id'], ['award_lists.id'], name=op.f('fk_award_objections_list_id_award_lists')),
    sa.ForeignKeyConstraint(['nominee_id'], ['award_nominees.id'], name=op.f('fk_award_objections_nominee_id_award_nominees')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_award_objections_resolved_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_award_objections'))
    )
    with op.batch_alter_table('award_objections', schema=None) as batch_op:
        batch_op.create_index('ix_award_objections_list_id_status', ['list_id', 'status'], unique=False)

    op.create_table('ranking_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('scope_id', sa.Integer(), nullable=False),
    sa.Column('taken_at', sa.DateTime(), nullable=False),
    sa.Column('star_thresholds', sa.String(length=200), nullable=False),
    sa.Column('entries_count', sa.Integer(), nullable=False),
    sa.Column('entries_sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['scope_id'], ['org_nodes.id'], name=op.f('fk_ranking_snapshots_scope_id_org_nodes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ranking_snapshots')),
    sa.UniqueConstraint('year', 'scope_id', name=op.f('uq_ranking_snapshots_year_scope_id'))
    )
    op.create_table('ranking_snapshot_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('service_minutes', sa.BigInteger(), nullable=False),
    sa.Column('sessions', sa.Integer(), nullable=False),
    sa.Column('reached_at', sa.DateTime(), nullable=False),
    sa.Column('star_level', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_ranking_snapshot_entries_member_id_members')),
    sa.ForeignKeyConstraint(['snapshot_id'], ['ranking_snapshots.id'], name=op.f('fk_ranking_snapshot_entries_snapshot_id_ranking_snapshots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ranking_snapshot_entries')),
    sa.UniqueConstraint('snapshot_id', 'member_id', name=op.f('uq_ranking_snapshot_entries_snapshot_id_member_id'))
    )

    op.create_table('recognition_service_totals',
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('minutes', sa.BigInteger(), nullable=False),
    sa.Column('sessions', sa.Integer(), nullable=False),
    sa.Column('last_transaction_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_recognition_service_totals_member_id_members')),
    sa.PrimaryKeyConstraint('member_id', 'year', name=op.f('pk_recognition_service_totals'))
    )
    # The ranking order itself, so a page of a ranking is read off the index, never sorted.
    op.create_index('ix_recognition_service_totals_ranking', 'recognition_service_totals',
                    ['year', sa.text('minutes DESC'), sa.text('sessions DESC'),
                     'last_transaction_id'], unique=False)

    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for statement in PG_STATEMENTS:
            op.execute(statement)
    elif dialect == "sqlite":
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
    # Totals for what the ledger already holds; the trigger keeps them from now on.
    op.execute(BACKFILL.format(year=YEAR_SQL[dialect].replace("NEW.", "t.")))


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_DROP:
            op.execute(statement)
    else:
        for table in FROZEN_TABLES:
            for verb in ("update", "delete", "insert"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_frozen_no_{verb}")
        op.execute("DROP TRIGGER IF EXISTS ledger_transactions_recognition_totals")
    op.drop_index('ix_recognition_service_totals_ranking',
                  table_name='recognition_service_totals')
    op.drop_table('recognition_service_totals')
    op.drop_table('ranking_snapshot_entries')
    op.drop_table('ranking_snapshots')
    with op.batch_alter_table('award_objections', schema=None) as batch_op:
        batch_op.drop_index('ix_award_objections_list_id_status')
    op.drop_table('award_objections')
    with op.batch_alter_table('award_nominees', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_award_nominees_member_id'))
    op.drop_table('award_nominees')
    with op.batch_alter_table('award_lists', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_award_lists_scope_id'))
    op.drop_table('award_lists')
    with op.batch_alter_table('job_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_job_requests_status')
    op.drop_table('job_requests')
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_job_runs_started_at')
    op.drop_table('job_runs')
