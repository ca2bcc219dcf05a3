"""units: rosters (花名册) and co-building agreements (共建协议) with their items and fulfilment

Revision ID: 0012a
Revises: 0011d
Create Date: 2026-12-07 23:15:02.387097

Roster rows keep ID numbers only as the members' keyed hash and ciphertext.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012a'
down_revision = '0011d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('unit_agreements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('unit_signed_by_id', sa.Integer(), nullable=True),
    sa.Column('unit_signed_at', sa.DateTime(), nullable=True),
    sa.Column('org_signed_by_id', sa.Integer(), nullable=True),
    sa.Column('org_signed_at', sa.DateTime(), nullable=True),
    sa.Column('review', sa.Text(), nullable=False),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status = 'draft' OR (unit_signed_at IS NOT NULL AND org_signed_at IS NOT NULL)", name=op.f('ck_unit_agreements_signed_when_active')),
    sa.CheckConstraint("status IN ('draft', 'active', 'closed')", name=op.f('ck_unit_agreements_status_valid')),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_unit_agreements_period_valid')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_unit_agreements_created_by_id_users')),
    sa.ForeignKeyConstraint(['org_id'], ['org_nodes.id'], name=op.f('fk_unit_agreements_org_id_org_nodes')),
    sa.ForeignKeyConstraint(['org_signed_by_id'], ['users.id'], name=op.f('fk_unit_agreements_org_signed_by_id_users')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_unit_agreements_reviewed_by_id_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['org_nodes.id'], name=op.f('fk_unit_agreements_unit_id_org_nodes')),
    sa.ForeignKeyConstraint(['unit_signed_by_id'], ['users.id'], name=op.f('fk_unit_agreements_unit_signed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_agreements'))
    )
    with op.batch_alter_table('unit_agreements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_agreements_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_unit_agreements_unit_id'), ['unit_id'], unique=False)

    op.create_table('unit_agreement_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('target', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('hours', 'project', 'venue', 'funds', 'contact')", name=op.f('ck_unit_agreement_items_kind_valid')),
    sa.CheckConstraint('target > 0', name=op.f('ck_unit_agreement_items_target_positive')),
    sa.ForeignKeyConstraint(['agreement_id'], ['unit_agreements.id'], name=op.f('fk_unit_agreement_items_agreement_id_unit_agreements'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_agreement_items'))
    )
    with op.batch_alter_table('unit_agreement_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_agreement_items_agreement_id'), ['agreement_id'], unique=False)

    op.create_table('unit_roster_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('id_number_hmac', sa.String(length=64), nullable=True),
    sa.Column('id_number_ciphertext', sa.Text(), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('management', sa.String(length=16), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=True),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('imported_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("management IN ('direct', 'co')", name=op.f('ck_unit_roster_entries_management_valid')),
    sa.CheckConstraint('id_number_hmac IS NOT NULL OR phone IS NOT NULL', name=op.f('ck_unit_roster_entries_has_key')),
    sa.ForeignKeyConstraint(['community_id'], ['org_nodes.id'], name=op.f('fk_unit_roster_entries_community_id_org_nodes')),
    sa.ForeignKeyConstraint(['imported_by_id'], ['users.id'], name=op.f('fk_unit_roster_entries_imported_by_id_users')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_unit_roster_entries_member_id_members'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_id'], ['org_nodes.id'], name=op.f('fk_unit_roster_entries_unit_id_org_nodes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_roster_entries')),
    sa.UniqueConstraint('unit_id', 'id_number_hmac', name=op.f('uq_unit_roster_entries_unit_id_id_number_hmac')),
    sa.UniqueConstraint('unit_id', 'member_id', name=op.f('uq_unit_roster_entries_unit_id_member_id')),
    sa.UniqueConstraint('unit_id', 'phone', name=op.f('uq_unit_roster_entries_unit_id_phone'))
    )
    with op.batch_alter_table('unit_roster_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_roster_entries_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_unit_roster_entries_id_number_hmac'), ['id_number_hmac'], unique=False)
        batch_op.create_index(batch_op.f('ix_unit_roster_entries_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_unit_roster_entries_phone'), ['phone'], unique=False)

    op.create_table('unit_agreement_fulfilments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('on_date', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('evidence', sa.String(length=300), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=True),
    sa.Column('project_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_unit_agreement_fulfilments_amount_positive')),
    sa.ForeignKeyConstraint(['item_id'], ['unit_agreement_items.id'], name=op.f('fk_unit_agreement_fulfilments_item_id_unit_agreement_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_unit_agreement_fulfilments_post_id_posts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_unit_agreement_fulfilments_project_id_projects'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_unit_agreement_fulfilments_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_agreement_fulfilments'))
    )
    with op.batch_alter_table('unit_agreement_fulfilments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_agreement_fulfilments_item_id'), ['item_id'], unique=False)



def downgrade():
    with op.batch_alter_table('unit_agreement_fulfilments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_agreement_fulfilments_item_id'))

    op.drop_table('unit_agreement_fulfilments')
    with op.batch_alter_table('unit_roster_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_roster_entries_phone'))
        batch_op.drop_index(batch_op.f('ix_unit_roster_entries_member_id'))
        batch_op.drop_index(batch_op.f('ix_unit_roster_entries_id_number_hmac'))
        batch_op.drop_index(batch_op.f('ix_unit_roster_entries_community_id'))

    op.drop_table('unit_roster_entries')
    with op.batch_alter_table('unit_agreement_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_agreement_items_agreement_id'))

    op.drop_table('unit_agreement_items')
    with op.batch_alter_table('unit_agreements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_agreements_unit_id'))
        batch_op.drop_index(batch_op.f('ix_unit_agreements_org_id'))

    op.drop_table('unit_agreements')
