"""Parallel workers on one database (SQLite file or PostgreSQL): no overdraft, no lost update,
no deadlock, one deposit per source, the yearly limit holds."""
from __future__ import annotations

from sqlalchemy import func, select
from tests.parallel import run_parallel

from timebank.core.errors import DomainError
from timebank.ledger import operations as ledger
from timebank.ledger import queries
from timebank.ledger import verification
from timebank.ledger.models import Transaction

WORKERS = 8


def _run_parallel(app, n, work):
    """Run ``work(i)`` for i < n at once (tests/parallel.py); returns (results, domain error
    codes), and fails on any other exception."""
    from timebank.extensions import db

    outcomes = run_parallel(app, db, [lambda i=i: work(i) for i in range(n)])
    crashes = [repr(o) for o in outcomes
               if isinstance(o, Exception) and not isinstance(o, DomainError)]
    assert not crashes, crashes
    return ([o for o in outcomes if not isinstance(o, Exception)],
            [o.code for o in outcomes if isinstance(o, DomainError)])


def _member(db, member_id):
    from timebank.members.models import Member

    return db.session.get(Member, member_id)


def test_concurrent_redemptions_never_overdraw(app, db, tree, member_of):
    m = member_of(tree.member)
    ledger.deposit(None, m, 100, source_type="test", source_id=1, reason="")
    db.session.commit()
    member_id, staff_id = m.id, tree.staff.id

    def redeem(i):
        from timebank.accounts.models import User

        staff = db.session.get(User, staff_id)
        return ledger.redeem(staff, _member(db, member_id), 30, reason=f"服务{i}").id

    results, codes = _run_parallel(app, WORKERS, redeem)
    assert len(results) == 3 and codes == ["insufficient_balance"] * (WORKERS - 3)
    db.session.rollback()
    assert queries.member_figures(member_id).balance_minutes == 10
    assert verification.verify() == []


def test_crossing_relays_neither_deadlock_nor_lose_updates(app, db, tree, member_of):
    a, b = member_of(tree.member), member_of(tree.member3)
    ledger.deposit(None, a, 1000, source_type="test", source_id=1, reason="")
    ledger.deposit(None, b, 1000, source_type="test", source_id=2, reason="")
    db.session.commit()
    ids = [(a.id, b.id, tree.member.id), (b.id, a.id, tree.member3.id)]

    def relay(i):
        from timebank.accounts.models import User

        giver, taker, user_id = ids[i % 2]
        for _ in range(5):
            ledger.relay(db.session.get(User, user_id), _member(db, giver), 7,
                         to_member=_member(db, taker), reason="")
            db.session.commit()
        return i

    results, codes = _run_parallel(app, WORKERS, relay)
    assert len(results) == WORKERS and codes == []
    db.session.rollback()
    assert queries.member_figures(a.id).balance_minutes == 1000
    assert queries.member_figures(b.id).balance_minutes == 1000
    assert verification.verify() == []


def test_concurrent_deposits_for_one_source_make_one_transaction(app, db, tree, member_of):
    member_id = member_of(tree.member).id  # no account yet: creation races too

    def deposit(i):
        return ledger.deposit(None, _member(db, member_id), 60, source_type="service_record",
                              source_id=42, reason="").id

    results, codes = _run_parallel(app, WORKERS, deposit)
    assert codes == [] and len(set(results)) == 1
    db.session.rollback()
    assert db.session.execute(select(func.count()).select_from(Transaction)).scalar_one() == 1
    assert queries.member_figures(member_id) == queries.Figures(60, 60)
    assert verification.verify() == []


def test_concurrent_deposits_for_new_members(app, db, tree, make_user, member_of):
    ids = [member_of(make_user("member", tree.C1 if i % 2 else tree.C3)).id
           for i in range(WORKERS)]

    def deposit(i):
        for k in range(3):
            ledger.deposit(None, _member(db, ids[i]), 10 + k, source_type="test",
                           source_id=i * 10 + k, reason="")
            db.session.commit()
        return i

    results, codes = _run_parallel(app, WORKERS, deposit)
    assert len(results) == WORKERS and codes == []
    db.session.rollback()
    assert all(queries.member_figures(i).balance_minutes == 33 for i in ids)
    assert verification.verify() == []


def test_concurrent_relays_respect_the_yearly_limit(app, db, tree, member_of, set_rules):
    set_rules(relay_yearly_limit_minutes=100)
    m = member_of(tree.member)
    ledger.deposit(None, m, 1000, source_type="test", source_id=1, reason="")
    db.session.commit()
    member_id, user_id, pool_id = m.id, tree.member.id, tree.C1.id

    def relay(i):
        from timebank.accounts.models import User
        from timebank.orgs.models import OrgNode

        # Only ids cross into the threads: the test's own objects belong to its session.
        return ledger.relay(db.session.get(User, user_id), _member(db, member_id), 30,
                            to_pool_community=db.session.get(OrgNode, pool_id), reason="").id

    results, codes = _run_parallel(app, WORKERS, relay)
    assert len(results) == 3 and codes == ["relay_limit_exceeded"] * (WORKERS - 3)
    db.session.rollback()
    assert queries.member_figures(member_id).balance_minutes == 910


def test_concurrent_reversals_of_one_transaction_make_one(app, db, tree, member_of):
    """A double click on "reverse": every request gets the one reversal back, none a refusal
    computed from the balance the first one already lowered."""
    m = member_of(tree.member)
    tx_id = ledger.deposit(None, m, 90, source_type="test", source_id=7, reason="").id
    db.session.commit()
    member_id, staff_id = m.id, tree.staff.id

    def reverse(i):
        from timebank.accounts.models import User

        return ledger.reverse(db.session.get(User, staff_id),
                              db.session.get(Transaction, tx_id), f"更正{i}").id

    results, codes = _run_parallel(app, WORKERS, reverse)
    assert codes == [] and len(results) == WORKERS and len(set(results)) == 1
    db.session.rollback()
    assert queries.member_figures(member_id) == queries.Figures(0, 0)
    assert verification.verify() == []


def test_concurrent_redemptions_with_one_key_make_one(app, db, tree, member_of):
    m = member_of(tree.member)
    ledger.deposit(None, m, 40, source_type="test", source_id=8, reason="")
    db.session.commit()
    member_id, staff_id = m.id, tree.staff.id

    def redeem(i):
        from timebank.accounts.models import User

        return ledger.redeem(db.session.get(User, staff_id), _member(db, member_id), 30,
                             reason="助餐", idempotency_key="form-123").id

    results, codes = _run_parallel(app, WORKERS, redeem)
    assert codes == [] and len(results) == WORKERS and len(set(results)) == 1
    db.session.rollback()
    assert queries.member_figures(member_id).balance_minutes == 10
    assert verification.verify() == []


def test_concurrent_deposit_batches_deposit_each_source_once(app, db, tree, member_of):
    """Overlapping bulk verifications (two staff, double clicks) interleaved with single
    deposits: every source is credited once and the chain stays whole."""
    ids = [member_of(tree.member).id, member_of(tree.member3).id]

    def work(i):
        members = [_member(db, ids[0]), _member(db, ids[1])]
        if i % 3 == 2:
            return [ledger.deposit(None, members[i % 2], 10, source_type="service_record",
                                   source_id=i % 5, reason="").id]
        items = [ledger.DepositItem(members[k % 2], 10, "service_record", k)
                 for k in range(i % 4, i % 4 + 6)]
        return [t.id for t in ledger.deposit_many(None, items)]

    results, codes = _run_parallel(app, WORKERS, work)
    assert codes == [] and len(results) == WORKERS
    db.session.rollback()
    sources = db.session.execute(select(Transaction.source_id)).scalars().all()
    assert sorted(sources) == sorted(set(sources))
    assert queries.member_figures(ids[0]).service_minutes + queries.member_figures(
        ids[1]).service_minutes == 10 * len(sources)
    assert verification.verify() == []
