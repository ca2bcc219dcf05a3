"""Random deposits, redemptions, relays, reversals and crashes by random actors, against a
model of the rules; after every step every guarantee is checked (``verify`` plus the model's
figures for every account)."""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import itertools

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition,
                                 rule, run_state_machine_as_test)

from timebank.core import clock
from timebank.core.errors import DomainError
from timebank.ledger import operations as ledger
from timebank.ledger.operations import chain, deposits
from timebank.ledger import queries
from timebank.ledger import verification
from timebank.ledger.models import Account, AccountKind



@contextlib.contextmanager
def crash_mid_write(at: int):
    """A failure inside a ledger write. SQLite writes the postings by their own statement:
    ``at=1`` fails before it, ``at=2`` after the first posting is written. PostgreSQL writes
    caches, postings and the transaction row in one statement: ``at=1`` fails before it,
    ``at=2`` after it has run (every row written, the savepoint not yet released)."""
    from timebank.extensions import db

    if db.session.get_bind().dialect.name != "postgresql":
        name, original = "_insert_postings", chain._insert_postings

        def failing(cur, rows):
            if at == 2:
                original(cur, rows[:1])
            raise RuntimeError("power cut")
    elif at == 1:
        name, original = "_pg_write_sql", chain._pg_write_sql

        def failing(*args):
            raise RuntimeError("power cut")
    else:
        name, original = "_loaded_transaction", chain._loaded_transaction

        def failing(values):
            raise RuntimeError("power cut")
    # The write path is in chain.py; deposit_many calls some of the same steps from deposits.py.
    modules = [m for m in (chain, deposits) if hasattr(m, name)]
    for m in modules:
        setattr(m, name, failing)
    try:
        yield
    finally:
        for m in modules:
            setattr(m, name, original)

NOON = dt.datetime(2026, 6, 15, 4, tzinfo=dt.timezone.utc)
#: Half the time the one meant to act (-1), else anyone (the system, staff, members).
ACTORS = st.one_of(st.just(-1), st.integers(0, 7))


@dataclasses.dataclass
class ModelTx:
    id: int
    kind: str
    legs: dict  # account key -> minutes
    service: tuple | None  # (member id, minutes)
    giver: int | None = None  # relays: member id
    reversed_by: int | None = None


class Expected(Exception):
    """What the model says an operation must raise (its ``code``)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def make_machine(db):
    # Examples share the database (emptying it costs more than an example): each builds its
    # own district, so its accounts are its own, while verify() checks the whole ledger.
    examples = itertools.count(1)

    class LedgerMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            clock.freeze_at(NOON)
            self.n = next(examples)
            self.tx_count_before = verification.counts().transactions
            self._build_tree()
            self.balance: dict[tuple, int] = {}
            self.service: dict[int, int] = {m: 0 for m in self.members}
            self.txs: dict[int, ModelTx] = {}
            self.sources: dict[int, int] = {}  # deposit source id -> transaction id
            self.next_source = self.n * 1_000_000

        def teardown(self):
            db.session.rollback()
            clock.freeze_at(None)

        # --- the world ---------------------------------------------------------------------

        def _build_tree(self):
            from timebank.accounts import operations as accounts
            from timebank.members import operations as members
            from timebank.orgs import operations as orgs
            from timebank.orgs.models import OrgKind

            n = self.n
            d = orgs.create_node(None, None, OrgKind.DISTRICT, "区", code=f"D{n}")
            s1 = orgs.create_node(None, d, OrgKind.STREET, "一街道", code=f"S1x{n}")
            s2 = orgs.create_node(None, d, OrgKind.STREET, "二街道", code=f"S2x{n}")
            c1 = orgs.create_node(None, s1, OrgKind.COMMUNITY, "甲社区", code=f"C1x{n}")
            c2 = orgs.create_node(None, s1, OrgKind.COMMUNITY, "乙社区", code=f"C2x{n}")
            c3 = orgs.create_node(None, s2, OrgKind.COMMUNITY, "丙社区", code=f"C3x{n}")
            self.district = d.id
            self.communities = [c1.id, c2.id, c3.id]
            phones = iter(f"137{n:04d}{i:04d}" for i in range(100))

            def user(name):
                return accounts.create_user(None, next(phones), name, password_hash="x")

            admin = user("区管理员")
            accounts.assign_role(None, admin, "district_admin", d)
            staff1 = user("甲社工")
            accounts.assign_role(None, staff1, "community_staff", c1)
            staff3 = user("丙社工")
            accounts.assign_role(None, staff3, "community_staff", c3)
            self.members: dict[int, tuple[int, int]] = {}  # member id -> (user id, community)
            for name, community in (("甲一", c1), ("甲二", c1), ("乙一", c2), ("丙一", c3)):
                u = user(name)
                m = members.create_approved_member(None, u, community)
                self.members[m.id] = (u.id, community.id)
            self.member_ids = sorted(self.members)
            self.beneficiary = {}
            for m_id in self.member_ids[::2]:
                b = ledger.add_beneficiary(None, self._member(m_id), "家人", "母亲")
                self.beneficiary[m_id] = b.id
            # Actors: the system, three staff roles and every member.
            self.actors = [None, admin.id, staff1.id, staff3.id] + [
                self.members[m][0] for m in self.member_ids]
            self.manages = {admin.id: set(self.communities), staff1.id: {c1.id},
                            staff3.id: {c3.id}}
            db.session.commit()

        def _member(self, member_id):
            from timebank.members.models import Member

            return db.session.get(Member, member_id)

        def _uid(self, index, right):
            """Actor ``index``, or for -1 the one who is meant to act (``right``)."""
            return right if index == -1 else self.actors[index]

        def _user(self, uid):
            from timebank.accounts.models import User

            return None if uid is None else db.session.get(User, uid)

        @initialize(cap=st.sampled_from([90, 300, 90_000]),
                    recipients=st.sampled_from(["members_and_pools", "pools_only",
                                                "same_community"]),
                    limit=st.sampled_from([0, 150]), donate_only=st.booleans())
        def choose_rules(self, cap, recipients, limit, donate_only):
            from timebank.core import settings as stored

            self.cap, self.recipients, self.limit = cap, recipients, limit
            self.donate_only = donate_only
            stored.put(None, "ledger.storage_cap_minutes", cap)
            stored.put(None, "ledger.relay_recipients", recipients)
            stored.put(None, "ledger.relay_yearly_limit_minutes", limit)
            stored.put(None, "ledger.group_service_donate_only", donate_only)
            db.session.commit()

        # --- model helpers -----------------------------------------------------------------

        def _bal(self, key) -> int:
            return self.balance.get(key, 0)

        def _community(self, member_id) -> int:
            return self.members[member_id][1]

        def _apply(self, tx: ModelTx) -> None:
            for key, amount in tx.legs.items():
                self.balance[key] = self._bal(key) + amount
            if tx.service:
                self.service[tx.service[0]] += tx.service[1]
            self.txs[tx.id] = tx

        def _outcome(self, expected, call):
            """Run ``call``; it must raise exactly the model's expected error, or succeed."""
            try:
                result = call()
            except DomainError as e:
                db.session.rollback()
                assert isinstance(expected, Expected), f"unexpected {e.code}: {e.message}"
                assert e.code == expected.code, (e.code, expected.code)
                return None
            assert not isinstance(expected, Expected), f"expected {expected.code}"
            db.session.commit()
            return result

        def _split(self, key, minutes, overflow_key):
            """Minutes for an account under the storage cap, the rest to ``overflow_key``."""
            to_account = min(minutes, max(0, self.cap - self._bal(key)))
            legs = {key: to_account, overflow_key: minutes - to_account}
            return {k: v for k, v in legs.items() if v}

        # --- rules -------------------------------------------------------------------------

        @rule(actor=ACTORS, member=st.integers(0, 3),
              minutes=st.one_of(st.integers(1, 200), st.sampled_from([0, -5])),
              retry=st.booleans(), group=st.booleans())
        def deposit(self, actor, member, minutes, retry, group):
            self._deposit(actor, member, minutes, retry, group)

        # Deposits come twice as often as each kind of spending, so there is something to spend.
        @rule(actor=ACTORS, member=st.integers(0, 3), minutes=st.integers(1, 200))
        def deposit_more(self, actor, member, minutes):
            self._deposit(actor, member, minutes, False, False)

        @rule(items=st.lists(st.tuples(st.integers(0, 3), st.integers(1, 200), st.booleans(),
                                       st.booleans()), min_size=1, max_size=6))
        def deposit_batch(self, items):
            """deposit_many: the same outcome as the deposits one by one, in order; a source
            deposited before (or earlier in the batch) gives its transaction back."""
            batch, sources = [], []
            for member, minutes, retry, group in items:
                if retry and (self.sources or sources):
                    known = sorted({*self.sources, *sources})
                    source = known[minutes % len(known)]
                else:
                    source = self.next_source
                    self.next_source += 1
                sources.append(source)
                batch.append(ledger.DepositItem(self._member(self.member_ids[member]), minutes,
                                                "model", source, "批量", group))
            results = self._outcome(None, lambda: ledger.deposit_many(None, batch))
            assert len(results) == len(batch)
            for (member, minutes, _, group), source, result in zip(items, sources, results):
                self._deposited(self.member_ids[member], minutes, group, source, result)

        def _has_balance(self) -> bool:
            return any(self._bal(("member", m)) > 0 for m in self.member_ids)

        def _deposit(self, actor, member, minutes, retry, group):
            m = self.member_ids[member]
            if retry and self.sources:
                source = sorted(self.sources)[minutes % len(self.sources)]
            else:
                source = self.next_source
                self.next_source += 1
            uid = self._uid(actor, self.actors[2 if self._community(m) == self.communities[0]
                                               else 1])
            expected = None
            if minutes <= 0:
                expected = Expected("invalid_amount")
            elif uid is not None and uid not in self.manages:
                expected = Expected("forbidden")
            result = self._outcome(expected, lambda: ledger.deposit(
                self._user(uid), self._member(m), minutes, source_type="model",
                source_id=source, reason="服务", group=group))
            if result is not None:
                self._deposited(m, minutes, group, source, result)

        def _deposited(self, m, minutes, group, source, result):
            """The model's side of a deposit the ledger made (or gave back, for a known source)."""
            if source in self.sources:
                assert result.id == self.sources[source]  # the same transaction back
                return
            if group and self.donate_only:
                credit = {("pool", self._community(m)): minutes}
            else:
                credit = self._split(("member", m), minutes, ("pool", self._community(m)))
            legs = {("issuance", self.district): -minutes, **credit}
            self._apply(ModelTx(result.id, "deposit", legs, (m, minutes)))
            self.sources[source] = result.id

        @precondition(_has_balance)
        @rule(actor=ACTORS, member=st.integers(0, 3), minutes=st.integers(1, 90),
              for_family=st.booleans())
        def redeem(self, actor, member, minutes, for_family):
            m = self.member_ids[member]
            uid = self._uid(actor, self.actors[1])
            beneficiary_id = self.beneficiary.get(m) if for_family else None
            expected = None
            if uid is not None and self._community(m) not in self.manages.get(uid, ()):
                expected = Expected("forbidden")
            elif self._bal(("member", m)) < minutes:
                expected = Expected("insufficient_balance")

            def call():
                from timebank.ledger.models import Beneficiary

                ben = db.session.get(Beneficiary, beneficiary_id) if beneficiary_id else None
                return ledger.redeem(self._user(uid), self._member(m), minutes,
                                     beneficiary=ben, reason="服务回馈")

            result = self._outcome(expected, call)
            if result is not None:
                self._apply(ModelTx(result.id, "redemption",
                                    {("member", m): -minutes,
                                     ("redemption", self.district): minutes}, None))

        def _relayed(self, m) -> int:
            return sum(-t.legs[("member", m)] for t in self.txs.values()
                       if t.kind == "relay" and t.giver == m and t.reversed_by is None)

        @precondition(_has_balance)
        @rule(actor=ACTORS, giver=st.integers(0, 3), minutes=st.integers(1, 90),
              to_member=st.one_of(st.none(), st.integers(0, 3)), pool=st.integers(0, 2))
        def relay(self, actor, giver, minutes, to_member, pool):
            m = self.member_ids[giver]
            uid = self._uid(actor, self.members[m][0])
            target = self.member_ids[to_member] if to_member is not None else None
            pool_id = self.communities[pool]
            expected = None
            if uid is not None and uid != self.members[m][0]:
                expected = Expected("forbidden")
            elif target is not None and self.recipients == "pools_only":
                expected = Expected("relay_not_allowed")
            elif target == m:
                expected = Expected("relay_not_allowed")
            elif self.recipients == "same_community" and (
                    (target is not None and self._community(target) != self._community(m))
                    or (target is None and pool_id != self._community(m))):
                expected = Expected("relay_not_allowed")
            elif self._bal(("member", m)) < minutes:
                expected = Expected("insufficient_balance")
            elif self.limit and self._relayed(m) + minutes > self.limit:
                expected = Expected("relay_limit_exceeded")

            def call():
                from timebank.orgs.models import OrgNode

                return ledger.relay(
                    self._user(uid), self._member(m), minutes,
                    to_member=self._member(target) if target is not None else None,
                    to_pool_community=db.session.get(OrgNode, pool_id) if target is None
                    else None, reason="爱心接力")

            result = self._outcome(expected, call)
            if result is None:
                return
            if target is not None:
                credit = self._split(("member", target), minutes,
                                     ("pool", self._community(target)))
            else:
                credit = {("pool", pool_id): minutes}
            self._apply(ModelTx(result.id, "relay", {("member", m): -minutes, **credit}, None,
                                giver=m))

        def _communities_of(self, tx: ModelTx) -> set[int]:
            out = set()
            for kind, owner in tx.legs:
                if kind == "member":
                    out.add(self._community(owner))
                elif kind == "pool":
                    out.add(owner)
            if tx.service:
                out.add(self._community(tx.service[0]))
            return out

        @precondition(lambda self: self.txs)
        @rule(actor=ACTORS, pick=st.integers(0, 10_000))
        def reverse(self, actor, pick):
            ids = sorted(self.txs)
            tx = self.txs[ids[pick % len(ids)]]
            uid = self._uid(actor, self.actors[1])
            expected = None
            if tx.kind == "reversal":
                expected = Expected("already_reversed")
            elif uid is not None and (uid not in self.manages
                                      or not self._communities_of(tx) <= self.manages[uid]):
                expected = Expected("forbidden")
            elif tx.reversed_by is None and any(
                    kind != "issuance" and self._bal((kind, owner)) - amount < 0
                    for (kind, owner), amount in tx.legs.items()):
                expected = Expected("insufficient_balance")

            def call():
                from timebank.ledger.models import Transaction

                return ledger.reverse(self._user(uid), db.session.get(Transaction, tx.id),
                                      "更正")

            result = self._outcome(expected, call)
            if result is None:
                return
            if tx.reversed_by is not None:
                assert result.id == tx.reversed_by
                return
            service = (tx.service[0], -tx.service[1]) if tx.service else None
            self._apply(ModelTx(result.id, "reversal",
                                {k: -v for k, v in tx.legs.items()}, service))
            tx.reversed_by = result.id

        @rule(member=st.integers(0, 3), minutes=st.integers(1, 100), at=st.integers(1, 2))
        def crash_between_postings(self, member, minutes, at):
            """A failure after some of a transaction's rows are written leaves nothing, even
            if the caller then commits."""
            with pytest.raises(RuntimeError), crash_mid_write(at):
                ledger.deposit(None, self._member(self.member_ids[member]), minutes,
                               source_type="model", source_id=self.next_source,
                               reason="崩溃")
            db.session.commit()

        # --- guarantees --------------------------------------------------------------------

        @invariant()
        def every_guarantee_holds(self):
            assert verification.verify() == []
            for m in self.member_ids:
                assert queries.member_figures(m) == queries.Figures(
                    self._bal(("member", m)), self.service[m])
            stored = {}
            mine = sa.or_(Account.member_id.in_(self.member_ids),
                          Account.org_id.in_([self.district, *self.communities]))
            for acct in db.session.execute(sa.select(Account).where(mine)).scalars():
                owner = acct.member_id if acct.kind == AccountKind.MEMBER else acct.org_id
                stored[(acct.kind, owner)] = acct.balance_minutes
                if not acct.allow_negative:
                    assert acct.balance_minutes >= 0
            assert {k: v for k, v in stored.items() if v} == {
                k: v for k, v in self.balance.items() if v}
            assert verification.counts().transactions == self.tx_count_before + len(self.txs)
            db.session.rollback()

    return LedgerMachine


def test_ledger_state_machine(app, db):
    machine = make_machine(db)
    run_state_machine_as_test(machine, settings=settings(
        max_examples=30, stateful_step_count=30, deadline=None,
        suppress_health_check=list(HealthCheck)))


def test_an_exception_between_postings_leaves_nothing(app, db, tree, member_of, ledger_rows,
                                                      monkeypatch):
    m = member_of(tree.member)
    ledger.deposit(None, m, 30, source_type="s", source_id=1, reason="")
    db.session.commit()
    with pytest.raises(RuntimeError), crash_mid_write(2):
        ledger.redeem(None, m, 10, reason="x")
    db.session.commit()  # even a commit afterwards finds nothing to keep
    assert ledger_rows() == (1, 2)
    assert queries.member_figures(m).balance_minutes == 30
    assert verification.verify() == []
