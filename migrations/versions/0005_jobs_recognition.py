"""jobs and recognition

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-21 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0001'
branch_labels = None
depends_on = None


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


def downgrade():
    with op.batch_alter_table('job_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_job_requests_status')
    op.drop_table('job_requests')
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_job_runs_started_at')
    op.drop_table('job_runs')
