"""posts: where a post takes place (for the location check of scan-to-check-in) and how far from
it a member checked in

Revision ID: 0010e
Revises: 0009c
Create Date: 2026-12-07 13:30:00.000000

Plain ADD COLUMNs (nullable, no constraint): on SQLite a batch rebuild of ``posts`` would drop
and recreate a table other tables reference with ON DELETE CASCADE. The operation that sets the
coordinates checks their range.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010e'
down_revision = '0010b_certificates'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('posts', sa.Column('latitude', sa.Float(), nullable=True))
    op.add_column('posts', sa.Column('longitude', sa.Float(), nullable=True))
    op.add_column('claims', sa.Column('checkin_distance_m', sa.Integer(), nullable=True))


def downgrade():
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not a batch rebuild, for the reason above.
    op.drop_column('claims', 'checkin_distance_m')
    op.drop_column('posts', 'longitude')
    op.drop_column('posts', 'latitude')
