"""``timebank match ...``: the matcher from the command line."""
from __future__ import annotations

import sys

import click


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
