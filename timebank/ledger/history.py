"""The audited historical-hours import (历史结转时长): the only way a deposit that does not come
from a service record enters the ledger.

Each row names a member (by phone), whole minutes and a note. Every row is checked before any is
written; one bad row refuses the whole file with a message per row, so nothing is half-written.
Written through :func:`timebank.ledger.operations.deposit` with ``source_type='historical'`` and
one audit entry per import. Flushes, never commits.
"""
from __future__ import annotations

import csv
import dataclasses
import io

from flask_babel import gettext as _
from sqlalchemy import func, select

from timebank.audit import operations as audit
from timebank.core.errors import Invalid
from timebank.extensions import db
from timebank.ledger.models import Transaction
from timebank.ledger.operations.chain import MAX_MINUTES
from timebank.members.models import Member, MemberStatus

SOURCE_TYPE = "historical"
MAX_NOTE = 200


@dataclasses.dataclass(frozen=True)
class HistoryRow:
    line: int
    phone: str
    minutes: str
    note: str


def parse_csv(text: str) -> list[HistoryRow]:
    """Rows of a CSV file with the columns phone, minutes, note (a header row is skipped)."""
    rows = []
    for n, cells in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not cells or not any(c.strip() for c in cells):
            continue
        cells = [c.strip() for c in cells] + ["", "", ""]
        if n == 1 and not cells[1].lstrip("-").isdigit():
            continue  # header
        rows.append(HistoryRow(n, cells[0], cells[1], cells[2]))
    return rows


def check_rows(rows: list[HistoryRow]) -> tuple[list[tuple[Member, int, str]], list[str]]:
    """The rows as (member, minutes, note), and a message per bad row."""
    from timebank.accounts.models import User
    good, errors = [], []
    if not rows:
        errors.append(_("The file has no rows."))
    for row in rows:
        member = db.session.execute(
            select(Member).join(User, User.id == Member.user_id)
            .where(User.phone == row.phone)).scalar_one_or_none()
        if member is None:
            errors.append(_("Row %(line)s: no member has the phone %(phone)s.",
                            line=row.line, phone=row.phone))
            continue
        if member.status != MemberStatus.APPROVED.value:
            errors.append(_("Row %(line)s: the member is not approved.", line=row.line))
            continue
        if not row.minutes.isdigit() or not 0 < int(row.minutes) <= MAX_MINUTES:
            errors.append(_("Row %(line)s: minutes must be a whole number above 0.",
                            line=row.line))
            continue
        if not row.note or len(row.note) > MAX_NOTE:
            errors.append(_("Row %(line)s: write a note of at most 200 characters.",
                            line=row.line))
            continue
        good.append((member, int(row.minutes), row.note))
    return good, errors


def import_history(actor, rows: list[HistoryRow]) -> list[Transaction]:
    """Deposit every row as historical hours, or raise Invalid listing every bad row."""
    from timebank.ledger import operations
    good, errors = check_rows(rows)
    if errors:
        raise Invalid("；".join(errors), field="file")
    last = db.session.execute(select(func.coalesce(func.max(Transaction.source_id), 0))
                              .where(Transaction.source_type == SOURCE_TYPE)).scalar_one()
    txs = []
    for offset, (member, minutes, note) in enumerate(good, start=1):
        txs.append(operations.deposit(actor, member, minutes, source_type=SOURCE_TYPE,
                                      source_id=int(last) + offset, reason=note))
    audit.record(actor, "ledger.import_history", "ledger_transaction", txs[0].id,
                 rows=len(txs), minutes=sum(m for _, m, _ in good),
                 transactions=[t.id for t in txs])
    return txs
