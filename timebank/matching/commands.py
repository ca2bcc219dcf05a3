"""``timebank match ...``: the matcher from the command line."""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext


@click.group("match")
def group() -> None:
    """Supply-demand matching (供需对接)."""


@group.command("solve")
@click.option("--input", "input_path", required=True, type=click.Path(dir_okay=False),
              help="Problem JSON: volunteers, posts, candidates.")
@click.option("--output", "output_path", required=True, type=click.Path(dir_okay=False),
              help="Where to write the assignments JSON.")
def solve_command(input_path: str, output_path: str) -> None:
    """Run only the solver on explicit candidates (no database).

    Exit status 0 on success, 2 on invalid input (one line on stderr naming the offending
    element; no output file is written).
    """
    from timebank.matching.solve_io import run_solve

    sys.exit(run_solve(input_path, output_path))


def _scope_node(value: str):
    """An org node by code, or by numeric id when no code matches."""
    from timebank.extensions import db
    from timebank.orgs import queries as orgs
    from timebank.orgs.models import OrgNode

    node = orgs.by_code(value)
    if node is None and value.isdigit():
        node = db.session.get(OrgNode, int(value))
    return node


@group.command("run")
@click.option("--community", "community", default=None, metavar="CODE_OR_ID",
              help="Match only this community's posts and demands.")
@click.option("--street", "street", default=None, metavar="CODE_OR_ID",
              help="Match only the posts and demands of this street's communities.")
@with_appcontext
def run_command(community: str | None, street: str | None) -> None:
    """Run the matcher on the database and store proposals for staff to decide.

    Prints the candidates, the proposals and the time spent loading, scoring, solving and
    storing. Without an option, every community of the installation is matched.
    """
    from timebank.core.cli import fail
    from timebank.core.errors import DomainError
    from timebank.extensions import db
    from timebank.matching import operations
    from timebank.matching.models import RunOrigin
    from timebank.orgs.models import OrgKind

    if community and street:
        fail("Give --community or --street, not both.")
    scope = None
    if community or street:
        value, kind = (community, OrgKind.COMMUNITY) if community else (street, OrgKind.STREET)
        scope = _scope_node(value)
        if scope is None or scope.kind != kind:
            fail(f"No {kind.value} {value!r}.")
    try:
        result = operations.run_matching(None, scope, origin=RunOrigin.CLI)
    except DomainError as e:
        db.session.rollback()
        fail(f"Error: {e.message}")
    db.session.commit()
    click.echo(result.summary())
