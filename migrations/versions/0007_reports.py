"""reports: staff evaluation notes on members, the units' stored feedback cards, and an index
on service records for the dashboards

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21 13:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('member_evaluations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_member_evaluations_author_id_users')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_evaluations_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_evaluations'))
    )
    with op.batch_alter_table('member_evaluations', schema=None) as batch_op:
        batch_op.create_index('ix_member_evaluations_member_id_month', ['member_id', 'month'], unique=False)

    op.create_table('feedback_cards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('figures_json', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['org_nodes.id'], name=op.f('fk_feedback_cards_unit_id_org_nodes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_cards')),
    sa.UniqueConstraint('unit_id', 'period_start', 'period_end', name=op.f('uq_feedback_cards_unit_id_period_start_period_end'))
    )
    with op.batch_alter_table('feedback_cards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_cards_unit_id'), ['unit_id'], unique=False)

    # The dashboards sum a year of a street's verified service records by month.
    op.create_index('ix_service_records_community_id_status_started_at', 'service_records',
                    ['community_id', 'status', 'started_at'], unique=False)


def downgrade():
    op.drop_index('ix_service_records_community_id_status_started_at',
                  table_name='service_records')
    with op.batch_alter_table('feedback_cards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_cards_unit_id'))
    op.drop_table('feedback_cards')
    with op.batch_alter_table('member_evaluations', schema=None) as batch_op:
        batch_op.drop_index('ix_member_evaluations_member_id_month')
    op.drop_table('member_evaluations')
