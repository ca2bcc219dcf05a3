"""Service records against the ledger, checked by ``timebank ledger verify``.

A verified (or later revoked) service record names the deposit that paid it. The deposit must
exist and say the same thing: a deposit for this record, of its minutes, to its member. Deleting
the newest transactions leaves a shorter chain that verifies on its own; the records pointing
into the cut-off part give it away.
"""
from __future__ import annotations

from sqlalchemy import select

from timebank.core import signals
from timebank.ledger import queries as ledger_queries
from timebank.ledger.models import ACCOUNTS, TRANSACTIONS
from timebank.posts.models import RecordStatus, ServiceRecord

RECORDS = ServiceRecord.__table__
PAID = (RecordStatus.VERIFIED.value, RecordStatus.REVOKED.value)

# A member's statement is ordered by when the service was done: the record's start.
ledger_queries.register_service_time("service_record", RECORDS.c.id, RECORDS.c.started_at)


@signals.ledger_verifying.connect
def check_service_records(conn, *, problem, **_extra) -> None:
    rows = conn.execute(
        select(RECORDS.c.id, RECORDS.c.member_id, RECORDS.c.minutes, RECORDS.c.status,
               RECORDS.c.transaction_id, TRANSACTIONS.c.id.label("tx_id"), TRANSACTIONS.c.kind,
               TRANSACTIONS.c.source_type, TRANSACTIONS.c.source_id,
               TRANSACTIONS.c.service_minutes, ACCOUNTS.c.member_id.label("tx_member_id"))
        .outerjoin(TRANSACTIONS, TRANSACTIONS.c.id == RECORDS.c.transaction_id)
        .outerjoin(ACCOUNTS, ACCOUNTS.c.id == TRANSACTIONS.c.service_account_id)
        .where((RECORDS.c.transaction_id.is_not(None))
               | (RECORDS.c.status.in_(PAID) & (RECORDS.c.minutes > 0)))
        .order_by(RECORDS.c.id).execution_options(yield_per=5000))
    for r in rows:
        if r.transaction_id is None:
            problem("record_not_deposited", f"service record {r.id} is {r.status} with "
                    f"{r.minutes} minutes but names no deposit")
        elif r.tx_id is None:
            problem("record_transaction_missing", f"service record {r.id} names a deposit that "
                    "is not in the ledger", transaction_id=r.transaction_id)
        elif (r.kind != "deposit" or r.source_type != "service_record" or r.source_id != r.id
              or int(r.service_minutes) != r.minutes or r.tx_member_id != r.member_id):
            problem("record_transaction_mismatch", f"service record {r.id} ({r.minutes} "
                    f"minutes, member {r.member_id}) names a transaction that is not its "
                    f"deposit ({r.kind} for {r.source_type} {r.source_id}, "
                    f"{r.service_minutes} minutes, member {r.tx_member_id})",
                    transaction_id=r.transaction_id)
