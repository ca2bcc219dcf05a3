"""The migrations build exactly the schema the models describe, on the database under test."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text


def _modelled(name, type_, parent_names) -> bool:
    """The post search index (FTS5 on SQLite, a pg_trgm table on PostgreSQL) is built by its
    migration and read through plain SQL (posts/search.py): it has no model to compare with."""
    return not (type_ == "table" and name and name.startswith("post_search"))


def test_models_and_migrations_agree(db):
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True,
                                                     "include_name": _modelled})
        diff = compare_metadata(ctx, db.metadata)
    assert diff == [], f"models and migrations differ; write a revision: {diff}"


def test_single_migration_head():
    """Parallel feature branches must be merged before release."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from timebank.config import PROJECT_ROOT

    cfg = Config(str(PROJECT_ROOT / "migrations" / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    heads = ScriptDirectory.from_config(cfg).get_heads()
    assert len(heads) == 1, f"several Alembic heads, add a merge revision: {heads}"


def test_constraint_names_follow_the_convention(db):
    if db.engine.dialect.name != "postgresql":
        return
    with db.engine.connect() as conn:
        names = conn.execute(text(
            "SELECT conname FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
            "WHERE n.nspname = 'public' AND conname <> 'alembic_version_pkc'")).scalars().all()
    assert names and all(n.split("_")[0] in ("pk", "fk", "uq", "ck") for n in names), names
