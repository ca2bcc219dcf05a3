"""The yearly service totals the rankings read, checked by ``timebank ledger verify``.

``recognition_service_totals`` is kept by a trigger on the ledger's inserts, so it must equal
what the ledger's transactions sum to, for every year either side knows. A ledger cut back
behind the app's back (with its cached balances fixed) leaves these totals too high.
"""
from __future__ import annotations

from sqlalchemy import func, select

from timebank.core import clock, signals
from timebank.ledger.models import Transaction
from timebank.recognition import queries
from timebank.recognition.models import ServiceYearTotal

#: The trigger that keeps the totals (migration 0005).
TRIGGERS = frozenset({"ledger_transactions_recognition_totals"})


def _years(conn) -> set[int]:
    years = set(conn.execute(select(ServiceYearTotal.year.distinct())).scalars())
    first, last = conn.execute(select(func.min(Transaction.created_at),
                                      func.max(Transaction.created_at))
                               .where(Transaction.service_minutes != 0)).one()
    if first is not None:
        years.update(range(clock.to_local(first).year, clock.to_local(last).year + 1))
    return years


@signals.ledger_verifying.connect
def check_service_totals(conn, *, problem, **_extra) -> None:
    from timebank.ledger.verification import check_triggers

    check_triggers(conn, TRIGGERS, problem)
    for year in sorted(_years(conn)):
        for member_id, kept, ledger in queries.totals_mismatches(year, conn):
            problem("recognition_totals_mismatch", f"member {member_id}'s service totals for "
                    f"{year} are {_show(kept)}, the ledger sums to {_show(ledger)}")


def _show(figures) -> str:
    if figures is None:
        return "none"
    minutes, sessions, last = figures
    return f"{minutes} minutes in {sessions} sessions (last transaction {last})"
