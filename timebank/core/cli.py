"""Helpers shared by the feature packages' ``commands.py`` (the ``timebank`` group is in
``timebank/cli.py``, which imports them, not the other way round)."""
from __future__ import annotations

import sys

import click


def fail(message: str, code: int = 2) -> None:
    """Print ``message`` on stderr and end the command with exit status ``code``."""
    click.echo(message, err=True)
    sys.exit(code)
