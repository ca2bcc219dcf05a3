"""The write path every ledger operation shares: validation of amounts and reasons, the account
and chain locks, and appending one transaction to the hash chain.

How a transaction is written (``_append``), and why:

1. The accounts involved are locked in id order (``SELECT ... FOR UPDATE`` on PostgreSQL; on
   SQLite every writer already holds the database write lock from ``BEGIN IMMEDIATE``). A
   balance read under the lock cannot change before the write, so two concurrent redemptions
   cannot both spend the same minutes; id order means two writers never wait on each other in
   a cycle. The CHECK constraint on the account row is the database's own backstop.
2. The chain lock serialises writers of the hash chain, so the new transaction's id (last
   id + 1) and ``prev_hash`` are those of its true predecessor. On PostgreSQL it is an advisory
   lock taken first, with the savepoint (``_savepoint``), so account locks taken after it never
   wait; on SQLite the database write lock is it.
3. Account caches are updated (one statement for all accounts, returning the new balances),
   the postings are inserted with ``balance_after`` (one statement), then the transaction row.
   The row comes last because on SQLite its insert trigger checks the postings' zero sum (see
   migration 0003).
4. All of it runs in a SAVEPOINT (``_savepoint``): an exception anywhere leaves nothing behind,
   and a duplicate idempotency key (a retry, or a concurrent writer) is rolled back to the
   savepoint and answered with the transaction stored first.
"""
from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Callable

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from timebank.core import clock
from timebank.core.errors import Conflict, Invalid
from timebank.extensions import db
from timebank.ledger.errors import (InsufficientBalance, InvalidAmount)
from timebank.ledger.hashing import GENESIS_HASH, transaction_hash
from timebank.ledger.models import (ACCOUNTS, OVERDRAFT_KINDS, TRANSACTIONS, AccountKind,
                                    Transaction, TxKind)
from timebank.orgs.models import OrgNode



#: One transaction moves at most this many minutes (a typo guard, and far from integer limits).
MAX_MINUTES = 1_000_000
MAX_REASON = 500
MAX_BENEFICIARIES = 10

#: (kind, member id) for member accounts, (kind, org node id) for the others.
Ref = tuple[str, int]
#: Accounts are created in this order, so two writers creating the same accounts never wait on
#: each other in a cycle.
_CREATE_ORDER = {AccountKind.ISSUANCE: 0, AccountKind.REDEMPTION: 1, AccountKind.POOL: 2,
                 AccountKind.MEMBER: 3}


@dataclasses.dataclass
class _Locked:
    """An account row read under its lock."""

    id: int
    kind: str
    balance: int
    allow_negative: bool


# --- validation helpers ------------------------------------------------------------------------

def _check_minutes(minutes) -> None:
    # bool is an int subclass and floats are never amounts: only a true int passes.
    if type(minutes) is not int or minutes <= 0 or minutes > MAX_MINUTES:
        raise InvalidAmount(field="minutes")


def _clean_reason(reason, required: bool) -> str:
    text = (str(reason) if reason is not None else "").strip()
    if required and not text:
        raise Invalid(_l("Give a reason."), field="reason")
    if len(text) > MAX_REASON:
        raise Invalid(_l("The reason is too long (at most %(n)d characters).", n=MAX_REASON),
                      field="reason")
    return text


def _district_id(community: OrgNode) -> int:
    return community.ancestor_ids[0]


def _key(prefix: str, idempotency_key: str | None) -> str:
    key = f"{prefix}:{idempotency_key}" if idempotency_key else f"{prefix}:{uuid.uuid4().hex}"
    if len(key) > 120:
        raise Invalid(_l("The request key is too long."), field="idempotency_key")
    return key


# --- the database cursor of the write path ------------------------------------------------------
# The hot statements of a write (lock accounts, take the chain lock, update the account caches,
# insert postings and the transaction) run on the session's own connection through its DB-API
# cursor: SQLAlchemy's execution machinery cost about 100 microseconds of Python per statement,
# more than SQLite takes to run them, and other features deposit in loops (a whole session's
# attendance at once). They are plain SQL in "?" style, turned into "%s" for psycopg.

#: Any constant: the key of the PostgreSQL advisory lock that serialises appends to the chain.
CHAIN_LOCK_KEY = 0x7462_6C65
_CHAIN_TIP = "SELECT id, hash FROM ledger_transactions ORDER BY id DESC LIMIT 1"
#: PostgreSQL: a write's first round trip. Three statements sent as one (simple protocol): the
#: savepoint, the chain lock, and the chain's tip, read by its own statement after the lock is
#: granted, so under READ COMMITTED it sees what the previous holder committed.
_PG_BEGIN_WRITE = (f"SAVEPOINT ledger_write; SELECT pg_advisory_xact_lock({CHAIN_LOCK_KEY}); "
                   f"{_CHAIN_TIP}")
_INSERT_TRANSACTION_SQL = (
    "INSERT INTO ledger_transactions (id, kind, created_at, actor_id, reason, source_type, "
    "source_id, idempotency_key, reverses_id, beneficiary_id, service_account_id, "
    "service_minutes, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
_sql_cache: dict[tuple, str] = {}


class _Cursor:
    """The session connection's DB-API cursor, with the dialect's parameter style."""

    def __init__(self) -> None:
        connection = db.session.connection()  # begins the session's transaction if needed
        self.postgres = connection.dialect.name == "postgresql"
        self.dbapi = connection.dialect.dbapi
        self.cursor = connection.connection.dbapi_connection.cursor()
        #: PostgreSQL: (id, hash) of the chain's last transaction, read under the chain lock.
        self.tip: tuple[int, str] | None = None

    def execute(self, text: str, params=(), *, more: bool = False):
        """Run a statement; errors come out as SQLAlchemy's (IntegrityError ...) as they would
        from ``session.execute``. ``more``: the text holds several statements (PostgreSQL),
        the cursor is moved to the last one's result."""
        sql = text.replace("?", "%s") if self.postgres else text
        cursor = self.cursor
        try:
            cursor.execute(sql, params) if params else cursor.execute(sql)
            while more and cursor.nextset():
                pass
        except self.dbapi.Error as e:
            raise DBAPIError.instance(sql, params, e, self.dbapi.Error) from e
        return cursor

    def time(self, value):
        """An aware datetime as the UTCDateTime column stores it (naive UTC; on SQLite the
        text SQLAlchemy writes)."""
        naive = value.astimezone(clock.UTC).replace(tzinfo=None)
        return naive if self.postgres else naive.strftime("%Y-%m-%d %H:%M:%S.%f")


def _lock_sql(kinds: tuple[str, ...], postgres: bool) -> str:
    """SELECT ... FOR UPDATE of the accounts of these kinds (owners as parameters, twice), in id
    order, but only if all of them exist: otherwise it returns nothing and locks nothing, and
    _lock_refs creates the missing ones and locks again. The common case (every account exists)
    is one statement. Creating accounts cannot deadlock: every ledger writer already holds the
    chain lock (PostgreSQL) or the database write lock (SQLite), see _savepoint.
    """
    key = ("lock", kinds, postgres)
    sql = _sql_cache.get(key)
    if sql is None:
        def wanted(alias):
            return " OR ".join(f"{alias}.member_id = ?" if kind == AccountKind.MEMBER
                               else f"({alias}.kind = '{AccountKind(kind).value}' "
                                    f"AND {alias}.org_id = ?)" for kind in kinds)

        sql = _sql_cache.setdefault(key, (
            "SELECT a.id, a.kind, a.member_id, a.org_id, a.balance_minutes, a.allow_negative "
            f"FROM ledger_accounts a WHERE ({wanted('a')}) AND (SELECT count(*) FROM "
            f"ledger_accounts p WHERE {wanted('p')}) = {len(kinds)} ORDER BY a.id"
            + (" FOR UPDATE" if postgres else "")))
    return sql


def _apply_sql(n: int) -> str:
    """One UPDATE adding minutes and service minutes to ``n`` accounts' cached figures."""
    sql = _sql_cache.get(("apply", n))
    if sql is None:
        whens = " ".join(["WHEN ? THEN ?"] * n)
        sql = _sql_cache.setdefault(("apply", n), (
            f"UPDATE ledger_accounts SET balance_minutes = balance_minutes + CASE id {whens} "
            f"ELSE 0 END, service_minutes = service_minutes + CASE id {whens} ELSE 0 END "
            f"WHERE id IN ({', '.join(['?'] * n)}) RETURNING id, balance_minutes"))
    return sql


def _pg_write_sql(n_changes: int, n_postings: int) -> str:
    """PostgreSQL: the account caches, the postings and the transaction row in one statement
    (data-modifying CTEs, postings before the transaction row). The postings take
    ``balance_after`` from the UPDATE's RETURNING; the balance CHECK on the accounts, the
    postings' BEFORE INSERT trigger and the deferred zero-sum triggers apply as they do to
    separate statements."""
    key = ("pg_write", n_changes, n_postings)
    sql = _sql_cache.get(key)
    if sql is None:
        whens = " ".join(["WHEN ? THEN ?"] * n_changes)
        legs = ", ".join(["(?::integer, ?::integer)"] * n_postings)
        sql = _sql_cache.setdefault(key, (
            "WITH upd AS (UPDATE ledger_accounts SET balance_minutes = balance_minutes + "
            f"CASE id {whens} ELSE 0 END, service_minutes = service_minutes + CASE id {whens} "
            f"ELSE 0 END WHERE id IN ({', '.join(['?'] * n_changes)}) "
            "RETURNING id, balance_minutes), "
            "ins AS (INSERT INTO ledger_postings (transaction_id, account_id, amount, "
            "balance_after) SELECT ?, v.acct, v.amount, upd.balance_minutes "
            f"FROM (VALUES {legs}) AS v(acct, amount) JOIN upd ON upd.id = v.acct "
            "RETURNING 1) "
            + _INSERT_TRANSACTION_SQL.split(" VALUES ")[0]
            + " SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? "
            # Reading the postings' RETURNING makes them go in before the transaction row,
            # whose presence their BEFORE INSERT trigger refuses (sibling CTEs run in no
            # guaranteed order).
            f"WHERE (SELECT count(*) FROM ins) = {n_postings}"))
    return sql


def _insert_postings_sql(n: int) -> str:
    sql = _sql_cache.get(("postings", n))
    if sql is None:
        sql = _sql_cache.setdefault(("postings", n), (
            "INSERT INTO ledger_postings (transaction_id, account_id, amount, balance_after) "
            "VALUES " + ", ".join(["(?, ?, ?, ?)"] * n)))
    return sql


# --- accounts and locks ------------------------------------------------------------------------

def _ref_clause(ref: Ref):
    kind, owner = ref
    if kind == AccountKind.MEMBER:
        return ACCOUNTS.c.member_id == owner
    return and_(ACCOUNTS.c.kind == kind, ACCOUNTS.c.org_id == owner)


def _insert_ignoring_conflicts(table):
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(table).on_conflict_do_nothing()


def _create_accounts(refs: list[Ref]) -> None:
    """The missing accounts, in one statement (rows in _CREATE_ORDER)."""
    if not refs:
        return
    now = clock.now()
    db.session.execute(_insert_ignoring_conflicts(ACCOUNTS).values([
        {"kind": kind, "member_id": owner if kind == AccountKind.MEMBER else None,
         "org_id": None if kind == AccountKind.MEMBER else owner,
         "allow_negative": kind in OVERDRAFT_KINDS, "balance_minutes": 0, "service_minutes": 0,
         "created_at": now}
        for kind, owner in sorted(refs, key=lambda r: (_CREATE_ORDER[AccountKind(r[0])], r[1]))]))


def _lock_refs(cur: _Cursor, refs: list[Ref]) -> dict[Ref, _Locked]:
    """Lock (creating when missing) the accounts named by ``refs``, in id order; see _lock_sql.
    For a single write: the statement is cached by the refs' kinds (deposit_many, whose batches
    name any number of accounts, uses _lock_many)."""
    refs = list(dict.fromkeys(refs))
    sql = _lock_sql(tuple(str(kind) for kind, _ in refs), cur.postgres)
    owners = tuple(owner for _, owner in refs) * 2

    def load() -> dict[Ref, _Locked]:
        out = {}
        for acct_id, kind, member_id, org_id, balance, allow_negative in cur.execute(
                sql, owners).fetchall():
            owner = member_id if kind == AccountKind.MEMBER else org_id
            out[(kind, owner)] = _Locked(acct_id, kind, balance, bool(allow_negative))
        return out

    rows = load()
    if not rows:
        present = db.session.execute(
            select(ACCOUNTS.c.kind, ACCOUNTS.c.member_id, ACCOUNTS.c.org_id)
            .where(or_(*[_ref_clause(r) for r in refs]))).all()
        have = {(k, m if k == AccountKind.MEMBER else o) for k, m, o in present}
        _create_accounts([r for r in refs if r not in have])
        rows = load()
    return rows


def _lock_ids(ids) -> dict[int, _Locked]:
    stmt = (select(ACCOUNTS.c.id, ACCOUNTS.c.kind, ACCOUNTS.c.balance_minutes,
                   ACCOUNTS.c.allow_negative)
            .where(ACCOUNTS.c.id.in_(sorted(set(ids)))).order_by(ACCOUNTS.c.id).with_for_update())
    return {r.id: _Locked(r.id, r.kind, r.balance_minutes, bool(r.allow_negative))
            for r in db.session.execute(stmt)}


def _lock_chain(cur: _Cursor) -> tuple[int, str]:
    """Take the chain lock and return the last transaction's (id, hash).

    PostgreSQL: a transaction-level advisory lock, then the tip is read by a second statement
    (sent together), which under READ COMMITTED sees whatever the previous holder committed. A
    lock row rewritten by every transaction would pile up dead row versions that each lookup
    walks within a busy transaction. SQLite: writers already hold the database lock (BEGIN
    IMMEDIATE).
    """
    if cur.postgres:
        return cur.tip  # read with the lock by the savepoint's round trip (_savepoint)
    row = cur.execute(_CHAIN_TIP).fetchone()
    return (int(row[0]), row[1]) if row else (0, GENESIS_HASH)


# --- writing a transaction ---------------------------------------------------------------------

def _apply(cur: _Cursor, changes: list[tuple[int, int, int]]) -> dict[int, int]:
    """Add (account id, minutes, service minutes) to the accounts' cached figures in one
    statement; returns the new balance of each account."""
    params = [x for acct, amount, _ in changes for x in (acct, amount)]
    params += [x for acct, _, service in changes for x in (acct, service)]
    params += [acct for acct, _, _ in changes]
    return dict(cur.execute(_apply_sql(len(changes)), params).fetchall())


def _insert_postings(cur: _Cursor, rows: list[tuple[int, int, int, int]]) -> None:
    """(transaction id, account id, minutes, balance after) rows, in one statement."""
    cur.execute(_insert_postings_sql(len(rows)), [x for row in rows for x in row])


def _checked_legs(legs: list[tuple[_Locked, int]]) -> list[tuple[_Locked, int]]:
    """The non-zero legs, which must balance, name each account once and overdraw none that
    may not go below zero (balances as read under the locks)."""
    legs = [(acct, amount) for acct, amount in legs if amount != 0]
    if len(legs) < 2 or sum(amount for _, amount in legs) != 0:
        raise AssertionError(f"unbalanced ledger transaction: {legs}")
    if len({acct.id for acct, _ in legs}) != len(legs):
        raise AssertionError("an account appears twice in one transaction")
    for acct, amount in legs:
        if not acct.allow_negative and acct.balance + amount < 0:
            raise InsufficientBalance()
    return legs


def _row_values(tx_id: int, prev_hash: str, legs: list[tuple[_Locked, int]], *, kind: TxKind,
                actor, reason: str, key: str, source_type: str | None = None,
                source_id: int | None = None, reverses_id: int | None = None,
                beneficiary_id: int | None = None, service_account_id: int | None = None,
                service_minutes: int = 0) -> dict:
    """The transaction row's values, its hash over them and the postings included."""
    values = {
        "id": tx_id, "kind": str(kind), "created_at": clock.now(),
        "actor_id": actor.id if actor is not None else None, "reason": reason,
        "source_type": source_type, "source_id": source_id, "idempotency_key": key,
        "reverses_id": reverses_id, "beneficiary_id": beneficiary_id,
        "service_account_id": service_account_id, "service_minutes": service_minutes,
        "prev_hash": prev_hash,
    }
    values["hash"] = transaction_hash(
        postings=[(acct.id, amount) for acct, amount in legs], **values)
    return values


def _row_params(cur: _Cursor, v: dict) -> tuple:
    """The parameters of _INSERT_TRANSACTION_SQL."""
    return (v["id"], v["kind"], cur.time(v["created_at"]), v["actor_id"], v["reason"],
            v["source_type"], v["source_id"], v["idempotency_key"], v["reverses_id"],
            v["beneficiary_id"], v["service_account_id"], v["service_minutes"], v["prev_hash"],
            v["hash"])


def _append(cur: _Cursor, *, kind: TxKind, legs: list[tuple[_Locked, int]], actor, reason: str,
            key: str, source_type: str | None = None, source_id: int | None = None,
            reverses_id: int | None = None, beneficiary_id: int | None = None,
            service_account_id: int | None = None, service_minutes: int = 0) -> Transaction:
    """Write one balanced transaction on locked accounts."""
    legs = _checked_legs(legs)
    last_id, prev_hash = _lock_chain(cur)
    values = _row_values(last_id + 1, prev_hash, legs, kind=kind, actor=actor, reason=reason,
                         key=key, source_type=source_type, source_id=source_id,
                         reverses_id=reverses_id, beneficiary_id=beneficiary_id,
                         service_account_id=service_account_id,
                         service_minutes=service_minutes)

    changes = [(acct.id, amount, service_minutes if acct.id == service_account_id else 0)
               for acct, amount in legs]
    if service_minutes and service_account_id not in {acct.id for acct, _ in legs}:
        changes.append((service_account_id, 0, service_minutes))
    if cur.postgres:
        params = [x for acct, amount, _ in changes for x in (acct, amount)]
        params += [x for acct, _, service in changes for x in (acct, service)]
        params += [acct for acct, _, _ in changes]
        params.append(values["id"])
        params += [x for acct, amount in legs for x in (acct.id, amount)]
        params += _row_params(cur, values)
        cur.execute(_pg_write_sql(len(changes), len(legs)), params)
        return _loaded_transaction(values)
    balances = _apply(cur, changes)
    _insert_postings(cur, [(values["id"], acct.id, amount, balances[acct.id])
                           for acct, amount in legs])
    # Last: on SQLite its insert trigger checks the postings' zero sum.
    cur.execute(_INSERT_TRANSACTION_SQL, _row_params(cur, values))
    return _loaded_transaction(values)


def _loaded_transaction(values: dict) -> Transaction:
    """The row was just written from these values: the object as if read from it."""
    tx = Transaction.__mapper__.class_manager.new_instance()
    for name, value in values.items():
        set_committed_value(tx, name, value)
    make_transient_to_detached(tx)
    return tx


_BY_KEY = select(TRANSACTIONS.c.id, TRANSACTIONS.c.kind).where(
    TRANSACTIONS.c.idempotency_key == bindparam("key"))


def _by_key(key: str) -> Transaction | None:
    row = db.session.execute(_BY_KEY, {"key": key}).first()
    return db.session.get(Transaction, row.id) if row else None


@contextlib.contextmanager
def _savepoint():
    """A SAVEPOINT around one ledger write: on any exception the database is rolled back to it,
    so nothing of the write survives even if the caller commits.

    Run on the cursor rather than with ``session.begin_nested()``: nothing inside touches ORM
    objects (pending ones are flushed first, so none are flushed inside), and the ORM's
    savepoints compile anew every time (each has its own name), which cost more than the rest of
    a deposit's Python work.
    """
    db.session.flush()
    cur = _Cursor()
    if cur.postgres:
        # The chain lock comes first on PostgreSQL, with the savepoint in one round trip: it
        # serialises every ledger writer, so the account locks taken after it never wait.
        row = cur.execute(_PG_BEGIN_WRITE, more=True).fetchone()
        cur.tip = (int(row[0]), row[1]) if row else (0, GENESIS_HASH)
    else:
        cur.execute("SAVEPOINT ledger_write")
    try:
        yield cur
    except BaseException:
        cur.execute("ROLLBACK TO SAVEPOINT ledger_write")
        cur.execute("RELEASE SAVEPOINT ledger_write")
        raise
    cur.execute("RELEASE SAVEPOINT ledger_write")


class _StoredMeanwhile(Exception):
    """A concurrent request with the same key committed while this one waited for its locks."""

    def __init__(self, tx: Transaction):
        self.tx = tx


def _recheck_key(key: str) -> None:
    """Called by a write that checks balances, once it holds its row locks: a parallel request
    with the same key (a retry, a second click) may have committed meanwhile, and its result
    must come back rather than a refusal computed from the balance it already lowered. Only
    on PostgreSQL; SQLite's writers are serialised, so the lookup before the write suffices."""
    if db.session.get_bind().dialect.name == "postgresql":
        existing = _by_key(key)
        if existing is not None:
            raise _StoredMeanwhile(existing)


def _idempotent(key: str, kind: TxKind, write: Callable[[_Cursor], Transaction],
                lookup_first: bool = True) -> Transaction:
    """The transaction stored under ``key``, written by ``write`` when there is none yet.

    ``lookup_first=False`` skips the lookup and relies on the unique key alone; only for writes
    that cannot fail before they reach the insert (a deposit checks no balance), since a retry
    must get the stored transaction back, not a new refusal.
    """
    existing = _by_key(key) if lookup_first else None
    if existing is None:
        try:
            with _savepoint() as cur:
                tx = write(cur)
        except _StoredMeanwhile as e:
            existing = e.tx
        except IntegrityError:
            # The key was stored before (a retry, or a concurrent writer on PostgreSQL; on
            # SQLite writers are serialised). Any other integrity error is a real one.
            existing = _by_key(key)
            if existing is None:
                raise
        else:
            # Attached after the savepoint is released, so a failure above never leaves it in
            # the session; the caller's rollback expires it like any other object.
            db.session.add(tx)
            return tx
    if existing.kind != kind:
        raise Conflict(_l("This request key was already used for another kind of entry."))
    return existing
