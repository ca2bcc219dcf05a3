"""``timebank members ...``: import completed forms from the command line, rebuild search keys."""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from timebank.extensions import db


@click.group("members")
def group() -> None:
    """Members (在职党员) and their registration forms."""


@group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--community", "community_code", required=True, help="Code of the community.")
@click.option("--valid-rows", is_flag=True,
              help="Import the valid rows; by default nothing is imported if a row is wrong.")
@with_appcontext
def import_command(path: str, community_code: str, valid_rows: bool) -> None:
    """Import completed forms (.xlsx or .csv, the template's columns) into a community."""
    from timebank.core.errors import DomainError
    from timebank.members import imports, sheets
    from timebank.orgs import queries as orgs

    community = orgs.by_code(community_code)
    if community is None or community.kind != "community":
        click.echo(f"No community with code {community_code!r}.", err=True)
        sys.exit(2)
    try:
        with open(path, "rb") as fh:
            rows = sheets.read_upload(fh, path)
        result = imports.import_rows(None, community, rows, all_or_nothing=not valid_rows)
    except DomainError as e:
        db.session.rollback()
        click.echo(f"Error: {e.message}", err=True)
        sys.exit(2)
    for e in result.errors:
        click.echo(f"第{e.row}行\t{e.column or '-'}\t{e.message}", err=True)
    if result.committed:
        db.session.commit()
        click.echo(f"{result.rows} rows: {result.created} created, {result.updated} updated, "
                   f"{result.unchanged} unchanged, {result.error_rows} rows with errors skipped.")
    else:
        db.session.rollback()
        click.echo(f"Nothing imported: {result.error_rows} of {result.rows} rows have errors.",
                   err=True)
    sys.exit(1 if result.errors else 0)


@group.command("reindex")
@with_appcontext
def reindex_command() -> None:
    """Recompute the directory search keys (pinyin initials, phone tails) of every member."""
    from sqlalchemy import select

    from timebank.members.models import Member
    from timebank.members.operations import refresh_search_keys

    n = 0
    for member in db.session.execute(select(Member)).scalars():
        refresh_search_keys(member, member.user)
        n += 1
    db.session.commit()
    click.echo(f"{n} members reindexed.")
