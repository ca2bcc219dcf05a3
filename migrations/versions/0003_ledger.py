"""ledger: accounts, append-only transactions and postings, beneficiaries

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-21 12:00:00

Besides the tables, database rules that hold whatever code writes:

* append-only: UPDATE and DELETE of ledger_transactions / ledger_postings are refused (row
  triggers; TRUNCATE is left alone, the test harness empties tables with it);
* zero sum: a transaction's postings sum to zero and there are at least two. The code writes the
  postings first and the transaction row last. On PostgreSQL deferred constraint triggers check
  each transaction at commit. SQLite has no deferred triggers, so there the transaction row's
  BEFORE INSERT trigger checks the postings already written, and a posting may not be added to a
  transaction that exists (the FK from postings to transactions is deferred on both databases);
* no overdraft: CHECK on ledger_accounts (only the issuance account may go below zero).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0001'
branch_labels = None
depends_on = None

APPEND_ONLY = ("ledger_transactions", "ledger_postings")

SQLITE_TRIGGERS = [
    *(
        f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        for table in APPEND_ONLY for verb in ("UPDATE", "DELETE")
    ),
    "CREATE TRIGGER ledger_transactions_balanced BEFORE INSERT ON ledger_transactions "
    "WHEN (SELECT COUNT(*) FROM ledger_postings WHERE transaction_id = NEW.id) < 2 "
    "OR (SELECT SUM(amount) FROM ledger_postings WHERE transaction_id = NEW.id) <> 0 "
    "BEGIN SELECT RAISE(ABORT, 'ledger transaction does not balance'); END",
    "CREATE TRIGGER ledger_postings_closed BEFORE INSERT ON ledger_postings "
    "WHEN EXISTS (SELECT 1 FROM ledger_transactions WHERE id = NEW.transaction_id) "
    "BEGIN SELECT RAISE(ABORT, 'ledger transaction is already written'); END",
]

PG_STATEMENTS = [
    """
    CREATE FUNCTION ledger_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
    END $$
    """,
    *(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION ledger_reject_change()"
        for table in APPEND_ONLY
    ),
    """
    CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      tx integer;
      total bigint;
      n integer;
    BEGIN
      IF TG_TABLE_NAME = 'ledger_postings' THEN tx := NEW.transaction_id; ELSE tx := NEW.id; END IF;
      SELECT COALESCE(SUM(amount), 0), COUNT(*) INTO total, n
        FROM ledger_postings WHERE transaction_id = tx;
      IF n < 2 OR total <> 0 THEN
        RAISE EXCEPTION 'ledger transaction % does not balance (% postings, sum %)', tx, n, total
          USING ERRCODE = 'check_violation';
      END IF;
      RETURN NULL;
    END $$
    """,
    "CREATE CONSTRAINT TRIGGER ck_ledger_postings_balanced AFTER INSERT ON ledger_postings "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced()",
    "CREATE CONSTRAINT TRIGGER ck_ledger_transactions_balanced AFTER INSERT "
    "ON ledger_transactions DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
    "EXECUTE FUNCTION ledger_check_balanced()",
    """
    CREATE FUNCTION ledger_posting_closed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM ledger_transactions WHERE id = NEW.transaction_id) THEN
        RAISE EXCEPTION 'ledger transaction % is already written', NEW.transaction_id
          USING ERRCODE = 'restrict_violation';
      END IF;
      RETURN NEW;
    END $$
    """,
    "CREATE TRIGGER ledger_postings_closed BEFORE INSERT ON ledger_postings "
    "FOR EACH ROW EXECUTE FUNCTION ledger_posting_closed()",
]

PG_DROP = [
    "DROP TRIGGER IF EXISTS ledger_postings_closed ON ledger_postings",
    "DROP TRIGGER IF EXISTS ck_ledger_transactions_balanced ON ledger_transactions",
    "DROP TRIGGER IF EXISTS ck_ledger_postings_balanced ON ledger_postings",
    *(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}" for table in APPEND_ONLY),
    "DROP FUNCTION IF EXISTS ledger_posting_closed()",
    "DROP FUNCTION IF EXISTS ledger_check_balanced()",
    "DROP FUNCTION IF EXISTS ledger_reject_change()",
]


def upgrade():
    op.create_table('ledger_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('org_id', sa.Integer(), nullable=True),
    sa.Column('allow_negative', sa.Boolean(), nullable=False),
    sa.Column('balance_minutes', sa.BigInteger(), nullable=False),
    sa.Column('service_minutes', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("(kind = 'member') = (member_id IS NOT NULL)", name=op.f('ck_ledger_accounts_member_owner')),
    sa.CheckConstraint("(kind = 'member') = (org_id IS NULL)", name=op.f('ck_ledger_accounts_org_owner')),
    sa.CheckConstraint("NOT allow_negative OR kind = 'issuance'", name=op.f('ck_ledger_accounts_overdraft_system_only')),
    sa.CheckConstraint("kind IN ('member', 'pool', 'issuance', 'redemption')", name=op.f('ck_ledger_accounts_kind_valid')),
    sa.CheckConstraint('allow_negative OR balance_minutes >= 0', name=op.f('ck_ledger_accounts_no_overdraft')),
    sa.CheckConstraint('service_minutes >= 0', name=op.f('ck_ledger_accounts_service_not_negative')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_ledger_accounts_member_id_members')),
    sa.ForeignKeyConstraint(['org_id'], ['org_nodes.id'], name=op.f('fk_ledger_accounts_org_id_org_nodes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_accounts')),
    sa.UniqueConstraint('kind', 'org_id', name=op.f('uq_ledger_accounts_kind_org_id')),
    sa.UniqueConstraint('member_id', name=op.f('uq_ledger_accounts_member_id'))
    )
    op.create_table('ledger_beneficiaries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('relation', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_ledger_beneficiaries_created_by_id_users')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_ledger_beneficiaries_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_beneficiaries'))
    )
    with op.batch_alter_table('ledger_beneficiaries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_beneficiaries_member_id'), ['member_id'], unique=False)

    op.create_table('ledger_transactions',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('source_type', sa.String(length=32), nullable=True),
    sa.Column('source_id', sa.BigInteger(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=120), nullable=False),
    sa.Column('reverses_id', sa.Integer(), nullable=True),
    sa.Column('beneficiary_id', sa.Integer(), nullable=True),
    sa.Column('service_account_id', sa.Integer(), nullable=True),
    sa.Column('service_minutes', sa.BigInteger(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.CheckConstraint("(kind = 'reversal') = (reverses_id IS NOT NULL)", name=op.f('ck_ledger_transactions_reversal_has_original')),
    sa.CheckConstraint("kind IN ('deposit', 'redemption', 'relay', 'reversal')", name=op.f('ck_ledger_transactions_kind_valid')),
    sa.CheckConstraint('service_minutes = 0 OR service_account_id IS NOT NULL', name=op.f('ck_ledger_transactions_service_has_account')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_ledger_transactions_actor_id_users')),
    sa.ForeignKeyConstraint(['beneficiary_id'], ['ledger_beneficiaries.id'], name=op.f('fk_ledger_transactions_beneficiary_id_ledger_beneficiaries')),
    sa.ForeignKeyConstraint(['reverses_id'], ['ledger_transactions.id'], name=op.f('fk_ledger_transactions_reverses_id_ledger_transactions')),
    sa.ForeignKeyConstraint(['service_account_id'], ['ledger_accounts.id'], name=op.f('fk_ledger_transactions_service_account_id_ledger_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_transactions')),
    sa.UniqueConstraint('hash', name=op.f('uq_ledger_transactions_hash')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_ledger_transactions_idempotency_key')),
    sa.UniqueConstraint('reverses_id', name=op.f('uq_ledger_transactions_reverses_id'))
    )
    with op.batch_alter_table('ledger_transactions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_transactions_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_ledger_transactions_service_account_id_created_at', ['service_account_id', 'created_at'], unique=False)

    op.create_table('ledger_postings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('transaction_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('balance_after', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount <> 0', name=op.f('ck_ledger_postings_amount_not_zero')),
    sa.ForeignKeyConstraint(['account_id'], ['ledger_accounts.id'], name=op.f('fk_ledger_postings_account_id_ledger_accounts')),
    sa.ForeignKeyConstraint(['transaction_id'], ['ledger_transactions.id'], name=op.f('fk_ledger_postings_transaction_id_ledger_transactions'), initially='DEFERRED', deferrable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_postings'))
    )
    with op.batch_alter_table('ledger_postings', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_postings_account_id_id', ['account_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_postings_transaction_id'), ['transaction_id'], unique=False)

    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for statement in PG_STATEMENTS:
            op.execute(statement)
    elif dialect == "sqlite":
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_DROP:
            op.execute(statement)
    with op.batch_alter_table('ledger_postings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_postings_transaction_id'))
        batch_op.drop_index('ix_ledger_postings_account_id_id')

    op.drop_table('ledger_postings')
    with op.batch_alter_table('ledger_transactions', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_transactions_service_account_id_created_at')
        batch_op.drop_index(batch_op.f('ix_ledger_transactions_created_at'))

    op.drop_table('ledger_transactions')
    with op.batch_alter_table('ledger_beneficiaries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_beneficiaries_member_id'))

    op.drop_table('ledger_beneficiaries')
    op.drop_table('ledger_accounts')
