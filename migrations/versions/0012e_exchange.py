"""exchange: the 爱心超市 catalogue of a community or street and members' requests

Revision ID: 0012e
Revises: 0012a
Create Date: 2026-12-08 00:10:00

Items priced in minutes of the time bank with a stock (NULL = unlimited) that only a
conditional UPDATE changes; requests hold one unit each and keep the redemption (and its
reversal) they caused in the ledger.
"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0012e'
down_revision = '0012a'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('exchange_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('price_minutes', sa.Integer(), nullable=False),
    sa.Column('stock', sa.Integer(), nullable=True),
    sa.Column('provider_name', sa.String(length=100), nullable=False),
    sa.Column('provider_unit_id', sa.Integer(), nullable=True),
    sa.Column('opening_times', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('goods', 'service')", name=op.f('ck_exchange_items_kind_valid')),
    sa.CheckConstraint('price_minutes > 0', name=op.f('ck_exchange_items_price_positive')),
    sa.CheckConstraint('stock IS NULL OR stock >= 0', name=op.f('ck_exchange_items_stock_not_negative')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_exchange_items_created_by_id_users')),
    sa.ForeignKeyConstraint(['org_id'], ['org_nodes.id'], name=op.f('fk_exchange_items_org_id_org_nodes')),
    sa.ForeignKeyConstraint(['provider_unit_id'], ['org_nodes.id'], name=op.f('fk_exchange_items_provider_unit_id_org_nodes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_items'))
    )
    with op.batch_alter_table('exchange_items', schema=None) as batch_op:
        batch_op.create_index('ix_exchange_items_org_id_active', ['org_id', 'active'], unique=False)

    op.create_table('exchange_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('price_minutes', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('transaction_id', sa.Integer(), nullable=True),
    sa.Column('reversal_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('requested', 'fulfilled', 'refused', 'cancelled', 'refunded')", name=op.f('ck_exchange_requests_status_valid')),
    sa.CheckConstraint('price_minutes > 0', name=op.f('ck_exchange_requests_price_positive')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_exchange_requests_decided_by_id_users')),
    sa.ForeignKeyConstraint(['item_id'], ['exchange_items.id'], name=op.f('fk_exchange_requests_item_id_exchange_items')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_exchange_requests_member_id_members')),
    sa.ForeignKeyConstraint(['reversal_id'], ['ledger_transactions.id'], name=op.f('fk_exchange_requests_reversal_id_ledger_transactions')),
    sa.ForeignKeyConstraint(['transaction_id'], ['ledger_transactions.id'], name=op.f('fk_exchange_requests_transaction_id_ledger_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_requests'))
    )
    with op.batch_alter_table('exchange_requests', schema=None) as batch_op:
        batch_op.create_index('ix_exchange_requests_item_id_status', ['item_id', 'status'], unique=False)
        batch_op.create_index('ix_exchange_requests_member_id_created_at', ['member_id', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('exchange_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_exchange_requests_member_id_created_at')
        batch_op.drop_index('ix_exchange_requests_item_id_status')
    op.drop_table('exchange_requests')
    with op.batch_alter_table('exchange_items', schema=None) as batch_op:
        batch_op.drop_index('ix_exchange_items_org_id_active')
    op.drop_table('exchange_items')
