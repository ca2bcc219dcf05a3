"""``timebank backup`` and ``timebank restore``."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from timebank.core.cli import fail


@click.command("backup")
@click.option("--dir", "directory", default=None,
              help="Folder of the backups (default: TIMEBANK_BACKUP_DIR, instance/backups).")
@click.option("--keep", default=None, type=click.IntRange(min=1),
              help="Keep the newest N backups there (default: TIMEBANK_BACKUP_KEEP, 14).")
@with_appcontext
def backup_command(directory: str | None, keep: int | None) -> None:
    """Back up the database (SQLite: online copy; PostgreSQL: pg_dump -Fc)."""
    from timebank.extensions import db
    from timebank.ops import backup

    try:
        result = backup.backup(db.engine.url,
                               directory or current_app.config["TIMEBANK_BACKUP_DIR"],
                               keep or int(current_app.config["TIMEBANK_BACKUP_KEEP"]))
    except backup.BackupError as e:
        fail(f"Backup failed: {e}")
    click.echo(f"Backup written: {result.path} ({result.size} bytes).")
    for path in result.removed:
        click.echo(f"Removed old backup {path.name}.")


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False))
@with_appcontext
def restore_command(file: str) -> None:
    """Restore a backup FILE into the configured database, which must be empty."""
    from timebank.extensions import db
    from timebank.ops import backup

    url = db.engine.url
    db.engine.dispose()
    try:
        backup.restore(url, file)
    except backup.BackupError as e:
        fail(f"Restore refused: {e}")
    click.echo(f"Restored {file} into {url.render_as_string(hide_password=True)}.")
    click.echo("Next: `timebank db upgrade` (if the backup is older than this version), then "
               "`timebank ledger verify`. Put the instance files back first (see README, "
               "Operations).")


COMMANDS = [backup_command, restore_command]
