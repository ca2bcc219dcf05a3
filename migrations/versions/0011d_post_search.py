"""posts: the keyword search index (post_search), backfilled for the posts that exist

Revision ID: 0011d
Revises: 0010e
Create Date: 2026-12-07 20:00:00.000000

SQLite: an FTS5 table with the trigram tokenizer (SQLite >= 3.34), rowid = post id, and a
trigger that drops a post's row when the post is deleted. PostgreSQL: a table with a pg_trgm GIN
index (the extension is created here: the migrating role must be allowed to). What the body
holds is explained in timebank/posts/search.py.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011d'
down_revision = '0010e'
branch_labels = None
depends_on = None


def upgrade():
    from timebank.posts import search

    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE post_search USING fts5(body, tokenize='trigram')")
        op.execute("CREATE TRIGGER post_search_delete AFTER DELETE ON posts BEGIN "
                   "DELETE FROM post_search WHERE rowid = old.id; END")
    else:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_table(
            'post_search',
            sa.Column('post_id', sa.Integer(), nullable=False),
            sa.Column('body', sa.Text(), nullable=False),
            sa.ForeignKeyConstraint(['post_id'], ['posts.id'], ondelete='CASCADE',
                                    name=op.f('fk_post_search_post_id_posts')),
            sa.PrimaryKeyConstraint('post_id', name=op.f('pk_post_search')),
        )
        op.execute("CREATE INDEX ix_post_search_body_trgm ON post_search "
                   "USING gin (body gin_trgm_ops)")
    search.reindex_all(conn)


def downgrade():
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS post_search_delete")
        op.execute("DROP TABLE post_search")
    else:
        op.drop_table('post_search')
