"""Every write on the ledger: deposit, redeem, relay, reverse, family members and the rules.

Operations take the acting user (None = the system: CLI, jobs, other features' operations that
already checked), validate, write and flush; they never commit.

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
from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from timebank.accounts.models import Role
from timebank.audit import operations as audit
from timebank.core import clock, settings, signals
from timebank.core.errors import Conflict, Forbidden, Invalid
from timebank.extensions import db
from timebank.ledger import rules
from timebank.ledger.errors import (AlreadyReversed, InsufficientBalance, InvalidAmount,
                                    RelayLimitExceeded, RelayNotAllowed)
from timebank.ledger.hashing import GENESIS_HASH, transaction_hash
from timebank.ledger.models import (OVERDRAFT_KINDS, Account, AccountKind, Beneficiary,
                                    Posting, Transaction, TxKind)
from timebank.ledger.util import format_hours
from timebank.members.models import Member
from timebank.orgs.models import OrgKind, OrgNode

__all__ = [
    "deposit", "deposit_many", "DepositItem", "reverse", "redeem", "relay", "check_relay", "add_beneficiary",
    "remove_beneficiary", "update_rules", "InvalidAmount", "InsufficientBalance",
    "RelayNotAllowed", "RelayLimitExceeded", "AlreadyReversed",
]

ACCOUNTS = Account.__table__
POSTINGS = Posting.__table__
TRANSACTIONS = Transaction.__table__

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
        return _append(
            cur, kind=TxKind.DEPOSIT, actor=actor, reason=reason,
            key=f"deposit:{source_type}:{source_id}", source_type=source_type,
            source_id=source_id, service_account_id=account.id, service_minutes=minutes,
            legs=[(locked[refs["issuance"]], -minutes), (account, to_member),
                  (locked[refs["pool"]], minutes - to_member)])

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


# --- redemption --------------------------------------------------------------------------------

def _insufficient(balance: int, minutes: int) -> InsufficientBalance:
    return InsufficientBalance(_l(
        "Not enough hours: the balance is %(balance)s hours, %(amount)s hours are needed.",
        balance=format_hours(balance), amount=format_hours(minutes)), field="minutes")


def redeem(actor, member: Member, minutes: int, *, beneficiary: Beneficiary | None = None,
           reason: str, idempotency_key: str | None = None) -> Transaction:
    """Staff record that a member (or a registered family member) received a service paid in
    hours (服务回馈)."""
    _check_minutes(minutes)
    reason = _clean_reason(reason, required=True)
    if actor is not None and not member.community.can_manage(actor):
        raise Forbidden()
    if beneficiary is not None and (beneficiary.member_id != member.id or not beneficiary.active):
        raise Invalid(_l("Choose one of the member's registered family members."),
                      field="beneficiary")
    member_ref = (AccountKind.MEMBER.value, member.id)
    sink_ref = (AccountKind.REDEMPTION.value, _district_id(member.community))

    def write(cur: _Cursor) -> Transaction:
        locked = _lock_refs(cur, [member_ref, sink_ref])
        if idempotency_key is not None:
            _recheck_key(key)
        account = locked[member_ref]
        if account.balance < minutes:
            raise _insufficient(account.balance, minutes)
        return _append(cur, kind=TxKind.REDEMPTION, actor=actor, reason=reason, key=key,
                       beneficiary_id=beneficiary.id if beneficiary else None,
                       legs=[(account, -minutes), (locked[sink_ref], minutes)])

    key = _key("redemption", idempotency_key)
    return _idempotent(key, TxKind.REDEMPTION, write)


# --- relay -------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class RelayPreview:
    """What a relay would do, for the confirmation page."""

    minutes: int
    to_recipient: int
    to_pool: int
    balance_after: int
    relayed_this_year: int
    yearly_limit: int


def relayed_this_year(account_id: int) -> int:
    """Minutes relayed out of an account in the current local calendar year (reversed relays
    do not count)."""
    start, end = clock.local_year_bounds(clock.today().year)
    reversal = Transaction.__table__.alias("reversal")
    stmt = (select(func.coalesce(func.sum(-POSTINGS.c.amount), 0))
            .select_from(POSTINGS.join(TRANSACTIONS,
                                       TRANSACTIONS.c.id == POSTINGS.c.transaction_id))
            .where(POSTINGS.c.account_id == account_id, POSTINGS.c.amount < 0,
                   TRANSACTIONS.c.kind == TxKind.RELAY.value,
                   TRANSACTIONS.c.created_at >= start, TRANSACTIONS.c.created_at < end,
                   ~select(reversal.c.id).where(reversal.c.reverses_id == TRANSACTIONS.c.id)
                   .exists()))
    return int(db.session.execute(stmt).scalar_one())


def _check_recipient(actor, from_member: Member, to_member: Member | None,
                     to_pool_community: OrgNode | None, current: rules.Rules) -> None:
    if actor is not None and actor.id != from_member.user_id:
        raise Forbidden()
    if (to_member is None) == (to_pool_community is None):
        raise Invalid(_l("Choose one recipient: a member or a community pool."), field="target")
    district = _district_id(from_member.community)
    if to_member is not None:
        if current.relay_recipients == rules.RECIPIENTS_POOLS:
            raise RelayNotAllowed(_l("Hours may only be relayed to a community pool."),
                                  field="target")
        if to_member.id == from_member.id:
            raise RelayNotAllowed(_l("You cannot relay hours to yourself."), field="phone")
        if not to_member.is_approved:
            raise RelayNotAllowed(_l("The recipient is not an approved member."), field="phone")
        if _district_id(to_member.community) != district:
            raise RelayNotAllowed(_l("The recipient is in another district."), field="phone")
        if (current.relay_recipients == rules.RECIPIENTS_SAME_COMMUNITY
                and to_member.community_id != from_member.community_id):
            raise RelayNotAllowed(_l("Hours may only be relayed within your own community."),
                                  field="phone")
    else:
        if to_pool_community.kind != OrgKind.COMMUNITY or not to_pool_community.active:
            raise RelayNotAllowed(_l("Choose a community pool."), field="community")
        if _district_id(to_pool_community) != district:
            raise RelayNotAllowed(_l("The pool is in another district."), field="community")
        if (current.relay_recipients == rules.RECIPIENTS_SAME_COMMUNITY
                and to_pool_community.id != from_member.community_id):
            raise RelayNotAllowed(_l("Hours may only be relayed to your own community's pool."),
                                  field="community")


def _check_relay_amount(account_id: int, balance: int, minutes: int,
                        current: rules.Rules) -> int:
    if balance < minutes:
        raise _insufficient(balance, minutes)
    used = relayed_this_year(account_id)
    limit = current.relay_yearly_limit_minutes
    if limit > 0 and used + minutes > limit:
        raise RelayLimitExceeded(_l(
            "The yearly relay limit is %(limit)s hours; you can relay %(left)s more hours "
            "this year.", limit=format_hours(limit), left=format_hours(max(0, limit - used))),
            field="minutes")
    return used


def check_relay(actor, from_member: Member, minutes: int, *, to_member: Member | None = None,
                to_pool_community: OrgNode | None = None) -> RelayPreview:
    """Apply every rule of :func:`relay` without writing (for the confirmation step)."""
    _check_minutes(minutes)
    current = rules.current()
    _check_recipient(actor, from_member, to_member, to_pool_community, current)
    src = db.session.execute(select(ACCOUNTS.c.id, ACCOUNTS.c.balance_minutes)
                             .where(ACCOUNTS.c.member_id == from_member.id)).first()
    if src is None:
        raise _insufficient(0, minutes)
    balance = src.balance_minutes
    used = _check_relay_amount(src.id, balance, minutes, current)
    to_recipient, to_pool = minutes, 0
    if to_member is not None:
        dst = db.session.execute(select(ACCOUNTS.c.balance_minutes)
                                 .where(ACCOUNTS.c.member_id == to_member.id)).scalar() or 0
        to_recipient = min(minutes, max(0, current.storage_cap_minutes - dst))
        to_pool = minutes - to_recipient
    return RelayPreview(minutes, to_recipient, to_pool, balance - minutes, used,
                        current.relay_yearly_limit_minutes)


def relay(actor, from_member: Member, minutes: int, *, to_member: Member | None = None,
          to_pool_community: OrgNode | None = None, reason: str,
          idempotency_key: str | None = None) -> Transaction:
    """A member passes hours to another member or to a community pool (爱心接力).

    The regional rules apply: who may receive, the yearly relay limit, and the recipient's
    storage cap (minutes above it go to the recipient's community pool). Lowers the giver's
    balance, never their verified service minutes.
    """
    _check_minutes(minutes)
    reason = _clean_reason(reason, required=False)
    _check_recipient(actor, from_member, to_member, to_pool_community, rules.current())
    from_ref = (AccountKind.MEMBER.value, from_member.id)
    if to_member is not None:
        to_ref = (AccountKind.MEMBER.value, to_member.id)
        overflow_ref = (AccountKind.POOL.value, to_member.community_id)
        refs = [from_ref, to_ref, overflow_ref]
    else:
        to_ref = (AccountKind.POOL.value, to_pool_community.id)
        overflow_ref = None
        refs = [from_ref, to_ref]

    def write(cur: _Cursor) -> Transaction:
        locked = _lock_refs(cur, refs)
        if idempotency_key is not None:
            _recheck_key(key)
        current = rules.current()
        src = locked[from_ref]
        # Checked under the giver's lock: concurrent relays by one member cannot both pass.
        _check_relay_amount(src.id, src.balance, minutes, current)
        dst = locked[to_ref]
        to_recipient = minutes
        if overflow_ref is not None:
            to_recipient = min(minutes, max(0, current.storage_cap_minutes - dst.balance))
        legs = [(src, -minutes), (dst, to_recipient)]
        if overflow_ref is not None:
            legs.append((locked[overflow_ref], minutes - to_recipient))
        return _append(cur, kind=TxKind.RELAY, actor=actor, reason=reason, key=key, legs=legs)

    key = _key(f"relay:{from_member.id}", idempotency_key)
    return _idempotent(key, TxKind.RELAY, write)


# --- family members ----------------------------------------------------------------------------

def can_manage_beneficiaries(user, member: Member) -> bool:
    return user.is_authenticated and (user.id == member.user_id or member.can_manage(user))


def add_beneficiary(actor, member: Member, name: str, relation: str) -> Beneficiary:
    if actor is not None and not can_manage_beneficiaries(actor, member):
        raise Forbidden()
    name = (name or "").strip()
    relation = (relation or "").strip()
    if not name or len(name) > 50:
        raise Invalid(_l("A name of 1-50 characters is required."), field="name")
    if not relation or len(relation) > 20:
        raise Invalid(_l("Give the relation (1-20 characters)."), field="relation")
    active = db.session.execute(
        select(func.count()).select_from(Beneficiary)
        .where(Beneficiary.member_id == member.id, Beneficiary.active.is_(True))).scalar_one()
    if active >= MAX_BENEFICIARIES:
        raise Invalid(_l("At most %(n)d family members can be registered.",
                         n=MAX_BENEFICIARIES), field="name")
    beneficiary = Beneficiary(member_id=member.id, name=name, relation=relation, active=True,
                              created_at=clock.now(),
                              created_by_id=actor.id if actor is not None else None)
    db.session.add(beneficiary)
    db.session.flush()
    return beneficiary


def remove_beneficiary(actor, beneficiary: Beneficiary) -> None:
    """Removed family members stay on old redemptions but cannot be chosen again."""
    if actor is not None and not can_manage_beneficiaries(actor, beneficiary.member):
        raise Forbidden()
    beneficiary.active = False
    db.session.flush()


# --- regional rules ----------------------------------------------------------------------------

def can_edit_rules(user) -> bool:
    return user.is_authenticated and any(
        ra.role == Role.DISTRICT_ADMIN and ra.org.active for ra in user.roles)


def update_rules(actor, *, storage_cap_minutes: int, relay_recipients: str,
                 relay_yearly_limit_minutes: int, group_service_donate_only: bool) -> None:
    if actor is not None and not can_edit_rules(actor):
        raise Forbidden()
    if type(storage_cap_minutes) is not int or storage_cap_minutes <= 0:
        raise Invalid(_l("The storage cap must be a positive number of hours."),
                      field="storage_cap")
    if type(relay_yearly_limit_minutes) is not int or relay_yearly_limit_minutes < 0:
        raise Invalid(_l("The yearly relay limit cannot be negative."), field="relay_limit")
    if relay_recipients not in rules.RECIPIENT_CHOICES:
        raise Invalid(_l("Choose who may receive relayed hours."), field="relay_recipients")
    new = {
        rules.STORAGE_CAP: storage_cap_minutes,
        rules.RELAY_RECIPIENTS: relay_recipients,
        rules.RELAY_YEARLY_LIMIT: relay_yearly_limit_minutes,
        rules.GROUP_DONATE_ONLY: bool(group_service_donate_only),
    }
    old = dataclasses.asdict(rules.current())
    changes = {}
    for key, value in new.items():
        short = key.split(".", 1)[1]
        if old[short] != value:
            settings.put(actor, key, value)
            changes[short] = [old[short], value]
    if changes:
        rules.forget()
        audit.record(actor, "ledger.rules", "settings", None, **changes)
