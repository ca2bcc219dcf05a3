"""Deposits of verified service hours: one at a time (``deposit``) or in bulk (``deposit_many``,
what staff verifying a session's attendance call), each source credited once."""
from __future__ import annotations

import dataclasses

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select

from timebank.core import signals
from timebank.core.errors import Forbidden, Invalid
from timebank.extensions import db
from timebank.ledger import rules
from timebank.ledger.models import (ACCOUNTS, TRANSACTIONS, AccountKind, Transaction, TxKind)
from timebank.members.models import Member

from timebank.ledger.operations.chain import (Ref, _Cursor, _INSERT_TRANSACTION_SQL, _Locked,
                                              _append, _apply, _check_minutes, _clean_reason,
                                              _create_accounts, _district_id, _idempotent,
                                              _insert_postings, _loaded_transaction, _lock_chain,
                                              _lock_refs, _row_params, _row_values, _savepoint,
                                              _sql_cache)


# --- deposit -----------------------------------------------------------------------------------

def deposit(actor, member: Member, minutes: int, *, source_type: str, source_id: int,
            reason: str, group: bool = False) -> Transaction:
    """Credit verified service to a member (时间存储), exactly once per source record.

    Debits the district's issuance account. Minutes that would take the member's balance above
    the storage cap go to the member's community pool, and with the rule "group service may only
    be donated" group service goes to the pool entirely; the member's verified service minutes
    count the full amount either way.
    """
    _check_minutes(minutes)
    if not isinstance(source_type, str) or not source_type or len(source_type) > 32 \
            or ":" in source_type:
        raise Invalid(_l("Name the source of the deposit."), field="source_type")
    if type(source_id) is not int:
        raise Invalid(_l("Name the source of the deposit."), field="source_id")
    if actor is not None and not actor.is_staff:
        raise Forbidden()
    reason = _clean_reason(reason, required=False)
    community = member.community
    refs = {
        "issuance": (AccountKind.ISSUANCE.value, _district_id(community)),
        "pool": (AccountKind.POOL.value, community.id),
        "member": (AccountKind.MEMBER.value, member.id),
    }

    def write(cur: _Cursor) -> Transaction:
        locked = _lock_refs(cur, list(refs.values()))
        account = locked[refs["member"]]
        current = rules.current()
        if group and current.group_service_donate_only:
            to_member = 0
        else:
            to_member = min(minutes, max(0, current.storage_cap_minutes - account.balance))
        tx = _append(
            cur, kind=TxKind.DEPOSIT, actor=actor, reason=reason,
            key=f"deposit:{source_type}:{source_id}", source_type=source_type,
            source_id=source_id, service_account_id=account.id, service_minutes=minutes,
            legs=[(locked[refs["issuance"]], -minutes), (account, to_member),
                  (locked[refs["pool"]], minutes - to_member)])
        signals.hours_deposited.send(None, count=1, minutes=minutes)
        return tx

    return _idempotent(f"deposit:{source_type}:{source_id}", TxKind.DEPOSIT, write,
                       lookup_first=False)


@dataclasses.dataclass(frozen=True)
class DepositItem:
    """One deposit of :func:`deposit_many` (the arguments of :func:`deposit`)."""

    member: Member
    minutes: int
    source_type: str
    source_id: int
    reason: str = ""
    group: bool = False


#: Rows per multi-row INSERT in deposit_many (SQLite allows 32,766 parameters per statement).
_MANY_CHUNK = 500


def deposit_many(actor, items: list[DepositItem]) -> list[Transaction]:
    """:func:`deposit` for many source records at once (staff verifying a whole session's
    attendance): the same rules, one transaction per item, in the given order, and exactly once
    per source (an item whose source was deposited before, or twice in ``items``, gives back
    that transaction). Written in a handful of statements whatever the number of items: one
    lock of all the accounts, then the caches, the postings and the rows in bulk."""
    if actor is not None and not actor.is_staff:
        raise Forbidden()
    cleaned = []
    for item in items:
        _check_minutes(item.minutes)
        if not isinstance(item.source_type, str) or not item.source_type \
                or len(item.source_type) > 32 or ":" in item.source_type \
                or type(item.source_id) is not int:
            raise Invalid(_l("Name the source of the deposit."), field="source_type")
        cleaned.append((item, _clean_reason(item.reason, required=False),
                        f"deposit:{item.source_type}:{item.source_id}"))
    if not cleaned:
        return []
    current = rules.current()
    with _savepoint() as cur:
        # Under the chain lock (PostgreSQL) or the write lock (SQLite) no other ledger writer
        # runs, so a key not stored now cannot be stored before these rows are.
        keys = list(dict.fromkeys(key for _, _, key in cleaned))
        stored = {}
        for start in range(0, len(keys), _MANY_CHUNK):
            chunk = keys[start:start + _MANY_CHUNK]
            stored.update(db.session.execute(
                select(TRANSACTIONS.c.idempotency_key, TRANSACTIONS.c.id)
                .where(TRANSACTIONS.c.idempotency_key.in_(chunk))).all())
        refs_of = {}
        for item, _, key in cleaned:
            if key in refs_of:
                continue  # the first item with a source is the one deposited
            community = item.member.community
            refs_of[key] = ((AccountKind.ISSUANCE.value, _district_id(community)),
                            (AccountKind.MEMBER.value, item.member.id),
                            (AccountKind.POOL.value, community.id))
        locked = _lock_many(cur, [r for key, refs in refs_of.items() if key not in stored
                                  for r in refs])
        last_id, prev_hash = _lock_chain(cur)
        balance = {acct.id: acct.balance for acct in locked.values()}
        changes: dict[int, list[int]] = {}
        postings, rows, written = [], [], {}
        for item, reason, key in cleaned:
            if key in stored or key in written:
                continue
            issuance, member, pool = (locked[r] for r in refs_of[key])
            if item.group and current.group_service_donate_only:
                to_member = 0
            else:
                to_member = min(item.minutes,
                                max(0, current.storage_cap_minutes - balance[member.id]))
            legs = [(issuance, -item.minutes), (member, to_member),
                    (pool, item.minutes - to_member)]
            legs = [(acct, amount) for acct, amount in legs if amount]
            last_id += 1
            values = _row_values(last_id, prev_hash, legs, kind=TxKind.DEPOSIT, actor=actor,
                                 reason=reason, key=key, source_type=item.source_type,
                                 source_id=item.source_id, service_account_id=member.id,
                                 service_minutes=item.minutes)
            prev_hash = values["hash"]
            for acct, amount in legs:
                balance[acct.id] += amount
                postings.append((last_id, acct.id, amount, balance[acct.id]))
                changes.setdefault(acct.id, [0, 0])[0] += amount
            changes.setdefault(member.id, [0, 0])[1] += item.minutes
            rows.append(values)
            written[key] = values
        if rows:
            _write_many(cur, changes, balance, postings, rows)
            signals.hours_deposited.send(None, count=len(rows),
                                         minutes=sum(r["service_minutes"] for r in rows))
    out, loaded = [], {}
    for _, _, key in cleaned:
        if key not in loaded:
            if key in written:
                loaded[key] = _loaded_transaction(written[key])
                db.session.add(loaded[key])
            else:
                loaded[key] = db.session.get(Transaction, stored[key])
        out.append(loaded[key])
    return out


def _lock_many(cur: _Cursor, refs: list[Ref]) -> dict[Ref, _Locked]:
    """_lock_refs for a batch: one query per kind of account, whatever the number of refs.
    Creates the missing accounts, then locks them all in id order (safe for the reason given in
    _lock_sql)."""
    refs = list(dict.fromkeys(refs))
    clauses = []
    for kind in {kind for kind, _ in refs}:
        owners = sorted({owner for k, owner in refs if k == kind})
        clauses.append(ACCOUNTS.c.member_id.in_(owners) if kind == AccountKind.MEMBER
                       else and_(ACCOUNTS.c.kind == kind, ACCOUNTS.c.org_id.in_(owners)))
    stmt = (select(ACCOUNTS.c.id, ACCOUNTS.c.kind, ACCOUNTS.c.member_id, ACCOUNTS.c.org_id,
                   ACCOUNTS.c.balance_minutes, ACCOUNTS.c.allow_negative)
            .where(or_(*clauses)).order_by(ACCOUNTS.c.id))

    def load(lock: bool) -> dict[Ref, _Locked]:
        rows = db.session.execute(stmt.with_for_update() if lock and cur.postgres else stmt)
        return {(r.kind, r.member_id if r.kind == AccountKind.MEMBER else r.org_id):
                _Locked(r.id, r.kind, r.balance_minutes, bool(r.allow_negative)) for r in rows}

    present = load(lock=False)
    missing = [r for r in refs if r not in present]
    if missing:
        _create_accounts(missing)
    return load(lock=True)


def _write_many(cur: _Cursor, changes: dict[int, list[int]], balance: dict[int, int],
                postings: list[tuple], rows: list[dict]) -> None:
    """The account caches (one statement), the postings, then the transaction rows."""
    if cur.postgres:
        _write_many_pg(cur, changes, balance, postings, rows)
        return
    items = list(changes.items())
    for start in range(0, len(items), _MANY_CHUNK):
        chunk = [(acct, delta[0], delta[1]) for acct, delta in items[start:start + _MANY_CHUNK]]
        after = _apply(cur, chunk)
        if any(after[acct] != balance[acct] for acct, _, _ in chunk):
            raise AssertionError("account caches moved while locked")
    for start in range(0, len(postings), _MANY_CHUNK):
        _insert_postings(cur, postings[start:start + _MANY_CHUNK])
    for start in range(0, len(rows), _MANY_CHUNK):
        chunk = rows[start:start + _MANY_CHUNK]
        sql = _sql_cache.get(("transactions", len(chunk)))
        if sql is None:
            head, one = _INSERT_TRANSACTION_SQL.split(" VALUES ")
            sql = _sql_cache.setdefault(("transactions", len(chunk)),
                                        head + " VALUES " + ", ".join([one] * len(chunk)))
        cur.execute(sql, [x for v in chunk for x in _row_params(cur, v)])


_PG_APPLY_MANY = (
    "UPDATE ledger_accounts a SET balance_minutes = a.balance_minutes + d.b, "
    "service_minutes = a.service_minutes + d.s "
    "FROM unnest(%s::integer[], %s::bigint[], %s::bigint[]) AS d(id, b, s) "
    "WHERE a.id = d.id RETURNING a.id, a.balance_minutes")
_PG_POSTINGS_MANY = (
    "INSERT INTO ledger_postings (transaction_id, account_id, amount, balance_after) "
    "SELECT * FROM unnest(%s::integer[], %s::integer[], %s::bigint[], %s::bigint[])")
_PG_TRANSACTIONS_MANY = (
    _INSERT_TRANSACTION_SQL.split(" VALUES ")[0] + " SELECT * FROM unnest(%s::integer[], "
    "%s::text[], %s::timestamp[], %s::integer[], %s::text[], %s::text[], %s::integer[], "
    "%s::text[], %s::integer[], %s::integer[], %s::integer[], %s::bigint[], %s::text[], "
    "%s::text[])")


def _write_many_pg(cur: _Cursor, changes, balance, postings, rows) -> None:
    """PostgreSQL: each of the three writes is one statement over arrays (unnest), so its text
    and its parameter count do not grow with the batch (the multi-row VALUES form spent more
    time in the driver than the database spent running it)."""
    ids = list(changes)
    after = dict(cur.execute(_PG_APPLY_MANY, (
        ids, [changes[a][0] for a in ids], [changes[a][1] for a in ids])).fetchall())
    if any(after[a] != balance[a] for a in ids):
        raise AssertionError("account caches moved while locked")
    cur.execute(_PG_POSTINGS_MANY, [list(column) for column in zip(*postings)])
    cur.execute(_PG_TRANSACTIONS_MANY, [list(column) for column in zip(
        *(_row_params(cur, v) for v in rows))])
