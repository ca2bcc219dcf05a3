"""posts: a verified service record's verification can be withdrawn (its deposit reversed)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21 12:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

OLD_STATUSES = "status IN ('pending', 'verified', 'rejected')"
NEW_STATUSES = "status IN ('pending', 'verified', 'rejected', 'revoked')"


def upgrade():
    # On SQLite the batch rebuilds the table (its other CHECK constraints are reflected and kept).
    with op.batch_alter_table('service_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('revoked_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('revoke_reason', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_service_records_revoked_by_id_users'),
                                    'users', ['revoked_by_id'], ['id'])
        batch_op.drop_constraint(batch_op.f('ck_service_records_status_valid'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_service_records_status_valid'), NEW_STATUSES)


def downgrade():
    op.execute("UPDATE service_records SET status = 'verified' WHERE status = 'revoked'")
    with op.batch_alter_table('service_records', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_service_records_status_valid'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_service_records_status_valid'), OLD_STATUSES)
        batch_op.drop_constraint(batch_op.f('fk_service_records_revoked_by_id_users'),
                                 type_='foreignkey')
        batch_op.drop_column('revoke_reason')
        batch_op.drop_column('revoked_by_id')
        batch_op.drop_column('revoked_at')
