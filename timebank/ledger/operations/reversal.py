"""Reversal of a transaction by staff, with a reason; other features learn of it through the
``ledger_reversed`` signal."""
from __future__ import annotations


from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from timebank.core import signals
from timebank.core.errors import Forbidden
from timebank.extensions import db
from timebank.ledger.errors import (AlreadyReversed, InsufficientBalance)
from timebank.ledger.models import (POSTINGS, Account, AccountKind, Transaction, TxKind)
from timebank.ledger.util import format_hours
from timebank.members.models import Member
from timebank.orgs.models import OrgNode

from timebank.ledger.operations.chain import (_Cursor, _append, _clean_reason, _idempotent,
                                              _lock_ids, _recheck_key)


# --- reversal ----------------------------------------------------------------------------------

def communities_of_accounts(account_ids) -> list[OrgNode]:
    """The communities whose staff answer for these accounts (members' and pools')."""
    ids = set(db.session.execute(
        select(Member.community_id).join(Account, Account.member_id == Member.id)
        .where(Account.id.in_(account_ids))).scalars())
    ids |= set(db.session.execute(
        select(Account.org_id).where(Account.id.in_(account_ids),
                                     Account.kind == AccountKind.POOL)).scalars())
    return list(db.session.execute(select(OrgNode).where(OrgNode.id.in_(ids))).scalars())


def can_reverse(user, transaction: Transaction) -> bool:
    """Staff managing every community the transaction touches (district admins: all)."""
    if transaction.kind == TxKind.REVERSAL or not user.is_authenticated or not user.is_staff:
        return False
    account_ids = [p.account_id for p in transaction.postings]
    if transaction.service_account_id:
        account_ids.append(transaction.service_account_id)
    return all(user.manages(c) for c in communities_of_accounts(account_ids))


def reverse(actor, transaction: Transaction, reason: str, *,
            source_reviewer: bool = False) -> Transaction:
    """Negate ``transaction`` exactly (the only way to correct the ledger).

    Idempotent: there is at most one reversal per original, and reversing again returns it.
    Reversing a deposit also lowers the member's verified service minutes. A reversal that
    would overdraw an account (the hours were already spent) is refused.

    ``source_reviewer``: the caller has checked that ``actor`` may review the deposit's source
    (posts withdrawing a verification it made), which stands in for the ledger's own scope check
    as it does for the deposit; the actor must still be staff.

    Sends :data:`timebank.core.signals.ledger_reversed` when it writes a new reversal.
    """
    reason = _clean_reason(reason, required=True)
    if transaction.kind == TxKind.REVERSAL:
        raise AlreadyReversed()
    if actor is not None:
        allowed = (actor.is_staff and transaction.kind == TxKind.DEPOSIT) if source_reviewer \
            else can_reverse(actor, transaction)
        if not allowed:
            raise Forbidden()
    key = f"reversal:{transaction.id}"

    def write(cur: _Cursor) -> Transaction:
        original = db.session.execute(
            select(POSTINGS.c.account_id, POSTINGS.c.amount)
            .where(POSTINGS.c.transaction_id == transaction.id)).all()
        locked = _lock_ids([r.account_id for r in original])
        _recheck_key(key)
        legs = [(locked[r.account_id], -r.amount) for r in original]
        for acct, amount in legs:
            if not acct.allow_negative and acct.balance + amount < 0:
                raise InsufficientBalance(_l(
                    "Cannot reverse: %(hours)s hours of it have already been spent.",
                    hours=format_hours(-(acct.balance + amount))))
        return _append(
            cur, kind=TxKind.REVERSAL, actor=actor, reason=reason, key=key,
            source_type=transaction.source_type, source_id=transaction.source_id,
            reverses_id=transaction.id, service_account_id=transaction.service_account_id,
            service_minutes=-transaction.service_minutes, legs=legs)

    written: list[Transaction] = []

    def write_and_note(cur: _Cursor) -> Transaction:
        written.append(write(cur))
        return written[-1]

    reversal = _idempotent(key, TxKind.REVERSAL, write_and_note)
    if written:
        signals.ledger_reversed.send(transaction, reversal=reversal, actor=actor, reason=reason)
    return reversal
