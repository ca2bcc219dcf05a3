"""``timebank posts ...``: load the post catalogue on a new installation, run the posts' jobs."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from timebank.extensions import db


@click.group("posts")
def group() -> None:
    """Public-benefit posts (公益岗位)."""


@group.command("catalogue")
@with_appcontext
def catalogue_command() -> None:
    """Load the district catalogue of post kinds (3 categories, 34 kinds) where missing."""
    from timebank.catalogue import operations as catalogue
    from timebank.catalogue.data import DISTRICT_CATALOGUE

    added = catalogue.ensure_catalogue(DISTRICT_CATALOGUE)
    db.session.commit()
    click.echo(f"{added} post kinds added.")


@group.command("tasks")
@with_appcontext
def tasks_command() -> None:
    """Run the posts' scheduled job bodies once, now (they are idempotent)."""
    from timebank.posts import tasks

    for job in (tasks.close_past_deadline, tasks.mark_no_shows, tasks.promote_waiting_lists,
                tasks.send_reminders):
        summary = job()
        db.session.commit()
        click.echo(f"{job.__name__}: {summary}")
