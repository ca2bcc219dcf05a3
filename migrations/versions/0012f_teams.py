"""teams: volunteer teams (志愿服务队), memberships over time, team claims

Revision ID: 0012f
Revises: 0012e
Create Date: 2026-12-08 00:06:54.397683

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012f'
down_revision = '0012e'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('teams',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=True),
    sa.Column('specialties', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('grid', 'retired', 'specialist', 'unit', 'youth', 'other')", name=op.f('ck_teams_kind_valid')),
    sa.ForeignKeyConstraint(['community_id'], ['org_nodes.id'], name=op.f('fk_teams_community_id_org_nodes')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_teams_created_by_id_users')),
    sa.ForeignKeyConstraint(['grid_id'], ['org_nodes.id'], name=op.f('fk_teams_grid_id_org_nodes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teams')),
    sa.UniqueConstraint('community_id', 'name', name=op.f('uq_teams_community_id_name'))
    )
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_teams_community_id'), ['community_id'], unique=False)

    op.create_table('team_memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('joined_on', sa.Date(), nullable=False),
    sa.Column('left_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("role IN ('leader', 'member')", name=op.f('ck_team_memberships_role_valid')),
    sa.CheckConstraint('left_on IS NULL OR left_on >= joined_on', name=op.f('ck_team_memberships_dates_valid')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_team_memberships_member_id_members')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_team_memberships_team_id_teams'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team_memberships'))
    )
    with op.batch_alter_table('team_memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_memberships_member_id'), ['member_id'], unique=False)
        batch_op.create_index('uq_team_memberships_current', ['team_id', 'member_id'], unique=True, sqlite_where=sa.text('left_on IS NULL'), postgresql_where=sa.text('left_on IS NULL'))
        batch_op.create_index('uq_team_memberships_leader', ['team_id'], unique=True, sqlite_where=sa.text("left_on IS NULL AND role = 'leader'"), postgresql_where=sa.text("left_on IS NULL AND role = 'leader'"))

    op.create_table('team_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('claimed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['claimed_by_id'], ['users.id'], name=op.f('fk_team_claims_claimed_by_id_users')),
    sa.ForeignKeyConstraint(['session_id'], ['post_sessions.id'], name=op.f('fk_team_claims_session_id_post_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_team_claims_team_id_teams'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team_claims'))
    )
    with op.batch_alter_table('team_claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_claims_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_team_claims_team_id'), ['team_id'], unique=False)

    op.create_table('team_claim_places',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_claim_id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_team_claim_places_claim_id_claims'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_team_claim_places_member_id_members')),
    sa.ForeignKeyConstraint(['team_claim_id'], ['team_claims.id'], name=op.f('fk_team_claim_places_team_claim_id_team_claims'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team_claim_places')),
    sa.UniqueConstraint('team_claim_id', 'claim_id', name=op.f('uq_team_claim_places_team_claim_id_claim_id'))
    )
    with op.batch_alter_table('team_claim_places', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_claim_places_claim_id'), ['claim_id'], unique=False)



def downgrade():
    with op.batch_alter_table('team_claim_places', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_team_claim_places_claim_id'))

    op.drop_table('team_claim_places')
    with op.batch_alter_table('team_claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_team_claims_team_id'))
        batch_op.drop_index(batch_op.f('ix_team_claims_session_id'))

    op.drop_table('team_claims')
    with op.batch_alter_table('team_memberships', schema=None) as batch_op:
        batch_op.drop_index('uq_team_memberships_leader', sqlite_where=sa.text("left_on IS NULL AND role = 'leader'"), postgresql_where=sa.text("left_on IS NULL AND role = 'leader'"))
        batch_op.drop_index('uq_team_memberships_current', sqlite_where=sa.text('left_on IS NULL'), postgresql_where=sa.text('left_on IS NULL'))
        batch_op.drop_index(batch_op.f('ix_team_memberships_member_id'))

    op.drop_table('team_memberships')
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_teams_community_id'))

    op.drop_table('teams')
