"""``timebank recognition ...``: rankings, the kept totals check, the year-end snapshot."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from timebank.core import clock
from timebank.core.web import hours
from timebank.extensions import db


@click.group("recognition")
def group() -> None:
    """Rankings by verified service, star levels and annual awards."""


def _scope(code: str | None):
    from sqlalchemy import select

    from timebank.core.cli import fail
    from timebank.orgs import queries as orgs
    from timebank.orgs.models import OrgKind, OrgNode

    if code:
        node = orgs.by_code(code)
        if node is None or node.kind == OrgKind.GRID:
            fail(f"No district, street, community or unit with code {code!r}.")
        return node
    node = db.session.execute(select(OrgNode).where(OrgNode.kind == OrgKind.DISTRICT)
                              .order_by(OrgNode.id)).scalars().first()
    if node is None:
        fail("No district yet.")
    return node


@group.command("ranking")
@click.option("--year", type=int, help="Calendar year (Asia/Shanghai); default this year.")
@click.option("--scope", "code", help="Code of a district, street, community or unit; default "
                                      "the district.")
@click.option("--limit", type=int, default=20, show_default=True)
@with_appcontext
def ranking(year: int | None, code: str | None, limit: int) -> None:
    """Print the first ranks of a ranking."""
    from timebank.recognition import queries

    scope = _scope(code)
    year = year or clock.today().year
    r = queries.ranking(scope, year, limit=limit)
    click.echo(f"{scope.name} ({scope.code}) {year}: {r.total} members ranked")
    for row in r.rows:
        click.echo(f"{row.rank:>5}  {row.name:<10} {hours(row.minutes):>8} h  "
                   f"{row.sessions:>4} sessions  {row.community_name}  "
                   f"{'★' * row.star_level}")


@group.command("verify-totals")
@click.option("--year", type=int, help="Calendar year; default this year and the last.")
@with_appcontext
def verify_totals(year: int | None) -> None:
    """Check the yearly totals the rankings read against the ledger itself (exit 1 if any
    member's figures differ)."""
    from timebank.recognition import queries

    years = [year] if year else [clock.today().year - 1, clock.today().year]
    bad = 0
    for y in years:
        mismatches = queries.totals_mismatches(y)
        bad += len(mismatches)
        click.echo(f"{y}: {'all totals agree with the ledger' if not mismatches else ''}"
                   f"{f'{len(mismatches)} members differ' if mismatches else ''}")
        for member_id, kept, ledger in mismatches[:50]:
            click.echo(f"  member {member_id}: kept (minutes, sessions, last entry) {kept}, "
                       f"ledger {ledger}")
    if bad:
        raise SystemExit(1)


@group.command("snapshot")
@click.option("--year", type=int, required=True)
@click.option("--scope", "code", help="District code; default the (first) district.")
@with_appcontext
def snapshot(year: int, code: str | None) -> None:
    """Store a district's ranking of a year now (what the year-end job does), once."""
    from timebank.recognition import operations

    scope = _scope(code)
    snap, created = operations.take_snapshot(None, year, scope)
    db.session.commit()
    click.echo(f"{scope.name} {year}: {snap.entries_count} members, sha256 "
               f"{snap.entries_sha256}" + ("" if created else " (taken before)"))
