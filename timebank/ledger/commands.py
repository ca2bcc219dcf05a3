"""``timebank ledger ...``: checks of the time-bank ledger."""
from __future__ import annotations

import sys
import time

import click
from flask.cli import AppGroup

group = AppGroup("ledger", help="The time-bank ledger.")


@group.command("verify")
@click.option("--limit", default=200, show_default=True,
              help="Print at most this many problems (all are counted).")
def verify_command(limit: int) -> None:
    """Check zero sums, balances, the hash chain and references; exit 1 if any fails."""
    from timebank.ledger import verification

    started = time.perf_counter()
    problems = verification.verify()
    counts = verification.counts()
    elapsed = time.perf_counter() - started
    checked = (f"{counts.transactions} transactions, {counts.postings} postings, "
               f"{counts.accounts} accounts")
    if not problems:
        click.echo(f"Ledger OK: {checked} checked in {elapsed:.1f} s; every guarantee holds.")
        return
    click.echo(f"Ledger verification FAILED: {len(problems)} problems in {checked}.")
    broken = sorted({p.transaction_id for p in problems if p.transaction_id is not None})
    if broken:
        shown = ", ".join(str(i) for i in broken[:50])
        more = f" and {len(broken) - 50} more" if len(broken) > 50 else ""
        click.echo(f"Broken transactions: {shown}{more}")
    for problem in problems[:limit]:
        click.echo(f"  {problem}")
    if len(problems) > limit:
        click.echo(f"  ... {len(problems) - limit} more")
    sys.exit(1)


@group.command("checkpoint")
def checkpoint_command() -> None:
    """Verify the ledger, then append a signed checkpoint of its head (file, log, witness).

    Refuses (exit 1) when verification fails: a checkpoint must not anchor a broken chain.
    """
    from timebank.extensions import db
    from timebank.ledger import checkpoints
    from timebank.ledger import verification

    problems = verification.verify()
    if problems:
        click.echo(f"Ledger verification FAILED: {len(problems)} problems; no checkpoint written. "
                   "Run \"timebank ledger verify\" for the report.")
        sys.exit(1)
    written = checkpoints.write(db.session.connection())
    db.session.rollback()  # only read; end the transaction
    click.echo(f"Ledger checkpoint: {written.summary()} -> {checkpoints.path()}")


@group.command("import-history")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_history_command(file: str) -> None:
    """Import historical hours (历史结转时长) from a CSV file: phone, minutes, note; audited."""
    from timebank.core.errors import Invalid
    from timebank.extensions import db
    from timebank.ledger import history

    with open(file, encoding="utf-8-sig") as fh:
        rows = history.parse_csv(fh.read())
    try:
        txs = history.import_history(None, rows)
    except Invalid as exc:
        db.session.rollback()
        click.echo(str(exc.message if hasattr(exc, "message") else exc), err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"Imported {len(txs)} rows of historical hours.")
