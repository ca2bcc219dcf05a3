"""posts: posts, sessions with a claim counter, claims, waiting lists, service records;
API tokens. Merges the members (0002) and ledger (0003) heads.

Revision ID: 0004
Revises: 0002, 0003
Create Date: 2026-11-21 10:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = ('0002', '0003')
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_api_tokens_user_id_expires_at', ['user_id', 'expires_at'], unique=False)

    op.create_table('posts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('kind_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('minutes_credit', sa.Integer(), nullable=True),
    sa.Column('claim_deadline', sa.DateTime(), nullable=True),
    sa.Column('open_to_all', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('schedule', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('draft', 'published', 'closed', 'cancelled')", name=op.f('ck_posts_status_valid')),
    sa.CheckConstraint('capacity > 0', name=op.f('ck_posts_capacity_positive')),
    sa.ForeignKeyConstraint(['community_id'], ['org_nodes.id'], name=op.f('fk_posts_community_id_org_nodes')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_posts_created_by_id_users')),
    sa.ForeignKeyConstraint(['kind_id'], ['post_kinds.id'], name=op.f('fk_posts_kind_id_post_kinds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_posts'))
    )
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.create_index('ix_posts_community_id_status', ['community_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_posts_kind_id'), ['kind_id'], unique=False)

    op.create_table('post_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('claimed', sa.Integer(), nullable=False),
    sa.Column('minutes_credit', sa.Integer(), nullable=False),
    sa.Column('cancelled', sa.Boolean(), nullable=False),
    sa.CheckConstraint('capacity > 0', name=op.f('ck_post_sessions_capacity_positive')),
    sa.CheckConstraint('claimed >= 0 AND claimed <= capacity', name=op.f('ck_post_sessions_claimed_within_capacity')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_post_sessions_ends_after_start')),
    sa.CheckConstraint('minutes_credit >= 0', name=op.f('ck_post_sessions_minutes_credit_nonnegative')),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_post_sessions_post_id_posts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_post_sessions'))
    )
    with op.batch_alter_table('post_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_post_sessions_post_id_starts_at', ['post_id', 'starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_post_sessions_starts_at'), ['starts_at'], unique=False)

    op.create_table('post_skills',
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('skill_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_post_skills_post_id_posts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['skill_id'], ['skills.id'], name=op.f('fk_post_skills_skill_id_skills')),
    sa.PrimaryKeyConstraint('post_id', 'skill_id', name=op.f('pk_post_skills'))
    )
    with op.batch_alter_table('post_skills', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_post_skills_skill_id'), ['skill_id'], unique=False)

    op.create_table('claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('promoted', sa.Boolean(), nullable=False),
    sa.Column('checked_in_at', sa.DateTime(), nullable=True),
    sa.Column('checked_out_at', sa.DateTime(), nullable=True),
    sa.Column('attendance', sa.String(length=16), nullable=True),
    sa.CheckConstraint("attendance IS NULL OR attendance IN ('attended', 'no_show')", name=op.f('ck_claims_attendance_valid')),
    sa.CheckConstraint("status IN ('active', 'withdrawn', 'cancelled')", name=op.f('ck_claims_status_valid')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_claims_member_id_members')),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_claims_post_id_posts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['post_sessions.id'], name=op.f('fk_claims_session_id_post_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claims')),
    sa.UniqueConstraint('session_id', 'member_id', name=op.f('uq_claims_session_id_member_id'))
    )
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.create_index('ix_claims_member_id_status', ['member_id', 'status'], unique=False)
        batch_op.create_index('ix_claims_post_id_status', ['post_id', 'status'], unique=False)

    op.create_table('waitlist_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('waiting', 'promoted', 'left', 'expired')", name=op.f('ck_waitlist_entries_status_valid')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_waitlist_entries_member_id_members')),
    sa.ForeignKeyConstraint(['session_id'], ['post_sessions.id'], name=op.f('fk_waitlist_entries_session_id_post_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_entries')),
    sa.UniqueConstraint('session_id', 'member_id', name=op.f('uq_waitlist_entries_session_id_member_id'))
    )
    with op.batch_alter_table('waitlist_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_waitlist_entries_member_id'), ['member_id'], unique=False)
        batch_op.create_index('ix_waitlist_entries_session_id_status', ['session_id', 'status'], unique=False)

    op.create_table('service_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=True),
    sa.Column('post_id', sa.Integer(), nullable=True),
    sa.Column('kind_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reject_reason', sa.Text(), nullable=True),
    sa.Column('transaction_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("source IN ('attendance', 'reported')", name=op.f('ck_service_records_source_valid')),
    sa.CheckConstraint("status IN ('pending', 'verified', 'rejected')", name=op.f('ck_service_records_status_valid')),
    sa.CheckConstraint('ended_at >= started_at', name=op.f('ck_service_records_ends_after_start')),
    sa.CheckConstraint('minutes >= 0', name=op.f('ck_service_records_minutes_nonnegative')),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_service_records_claim_id_claims')),
    sa.ForeignKeyConstraint(['community_id'], ['org_nodes.id'], name=op.f('fk_service_records_community_id_org_nodes')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_service_records_created_by_id_users')),
    sa.ForeignKeyConstraint(['kind_id'], ['post_kinds.id'], name=op.f('fk_service_records_kind_id_post_kinds')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_service_records_member_id_members')),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_service_records_post_id_posts')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_service_records_reviewed_by_id_users')),
    sa.ForeignKeyConstraint(['transaction_id'], ['ledger_transactions.id'], name=op.f('fk_service_records_transaction_id_ledger_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_records')),
    sa.UniqueConstraint('claim_id', name=op.f('uq_service_records_claim_id'))
    )
    with op.batch_alter_table('service_records', schema=None) as batch_op:
        batch_op.create_index('ix_service_records_community_id_status', ['community_id', 'status'], unique=False)
        batch_op.create_index('ix_service_records_member_id_started_at', ['member_id', 'started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_records_post_id'), ['post_id'], unique=False)


def downgrade():
    with op.batch_alter_table('service_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_records_post_id'))
        batch_op.drop_index('ix_service_records_member_id_started_at')
        batch_op.drop_index('ix_service_records_community_id_status')

    op.drop_table('service_records')
    with op.batch_alter_table('waitlist_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_waitlist_entries_session_id_status')
        batch_op.drop_index(batch_op.f('ix_waitlist_entries_member_id'))

    op.drop_table('waitlist_entries')
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_index('ix_claims_post_id_status')
        batch_op.drop_index('ix_claims_member_id_status')

    op.drop_table('claims')
    with op.batch_alter_table('post_skills', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_post_skills_skill_id'))

    op.drop_table('post_skills')
    with op.batch_alter_table('post_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_post_sessions_starts_at'))
        batch_op.drop_index('ix_post_sessions_post_id_starts_at')

    op.drop_table('post_sessions')
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_posts_kind_id'))
        batch_op.drop_index('ix_posts_community_id_status')

    op.drop_table('posts')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_api_tokens_user_id_expires_at')

    op.drop_table('api_tokens')
