"""Demo data for the time bank's spending: family members, redemptions recorded by staff and
relays to members and community pools, spread over the latest stretch of history.

Every hour spent was earned first: this step runs after the posts, whose verified service
records are the only deposits, and puts each spending on ``ctx.history``, so it is written in
time order after the deposits before it and spends at most the balance the member had then.
Through the ledger's own operations, so the chain, the balances and the rules hold.
Deterministic (its own seeded generator, so other steps' draws do not depend on this one).
"""
from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select

from timebank.core import clock
from timebank.extensions import db
from timebank.ledger import operations, queries
from timebank.ledger.models import ACCOUNTS, AccountKind

SEED = 20261124
REDEEMED = ["上门理发", "助浴服务", "陪同就医", "家电维修", "代买代办"]
FAMILY = [("母亲", "王秀兰"), ("父亲", "周建华"), ("配偶", "李娟"), ("岳母", "陈桂英")]
#: Spendings over the latest stretch: redemptions, relays to a pool, relays to a neighbour.
REDEMPTIONS, POOL_RELAYS, MEMBER_RELAYS = 14, 8, 6
#: Only members holding at least this much spend (they keep some in the bank).
MIN_BALANCE = 180


def seed(ctx) -> None:
    rng = random.Random(SEED)
    first = ctx.periods[-1][0]
    # Spending starts once a month of service has been banked.
    start = clock.local_datetime(first + dt.timedelta(days=30), dt.time(10))
    span = int((ctx.now - start).total_seconds() // 60)
    if span <= 0:
        return
    # The demo member registered their mother early on and spends on her now and then.
    with clock.freeze(ctx.founded + dt.timedelta(days=10)):
        mother = operations.add_beneficiary(ctx.members[0].user, ctx.members[0],
                                            FAMILY[0][1], FAMILY[0][0])
    demo = ctx.members[0]
    for n in range(3):
        when = start + dt.timedelta(minutes=span * (n + 1) // 4)
        ctx.history.at(when, _redeem, ctx, rng, demo, mother, f"demo-member-{n}")
    kinds = ([("redeem", n) for n in range(REDEMPTIONS)]
             + [("pool", n) for n in range(POOL_RELAYS)]
             + [("member", n) for n in range(MEMBER_RELAYS)])
    for kind, n in kinds:
        when = start + dt.timedelta(minutes=rng.randrange(span))
        ctx.history.at(when, _spend, ctx, rng, kind, f"demo-{kind}-{n}")


def _holders(ctx) -> list:
    """Members (other than the demo member) with enough hours to spend now, by account."""
    ids = list(db.session.execute(
        select(ACCOUNTS.c.member_id).where(ACCOUNTS.c.kind == AccountKind.MEMBER.value,
                                           ACCOUNTS.c.balance_minutes >= MIN_BALANCE)
        .order_by(ACCOUNTS.c.id)).scalars())
    by_id = {m.id: m for m in ctx.members[1:]}
    return [by_id[i] for i in ids if i in by_id]


def _spendable(member, wanted: int) -> int:
    balance = queries.member_figures(member).balance_minutes
    return min(wanted, balance - MIN_BALANCE // 2) if balance >= MIN_BALANCE else 0


def _redeem(ctx, rng, member, beneficiary, key: str) -> None:
    minutes = _spendable(member, rng.choice([60, 90, 120]))
    if minutes > 0:
        operations.redeem(ctx.staff[member.community_id], member, minutes,
                          beneficiary=beneficiary, reason=rng.choice(REDEEMED),
                          idempotency_key=key)


def _spend(ctx, rng, kind: str, key: str) -> None:
    holders = _holders(ctx)
    if not holders:
        return
    member = rng.choice(holders)
    if kind == "redeem":
        beneficiary = None
        if rng.random() < 0.4:
            family = queries.beneficiaries(member)
            if family:
                beneficiary = family[0]
            else:
                relation, name = rng.choice(FAMILY[1:])
                beneficiary = operations.add_beneficiary(member.user, member, name, relation)
        _redeem(ctx, rng, member, beneficiary, key)
        return
    minutes = _spendable(member, rng.choice([30, 60, 90]))
    if minutes <= 0:
        return
    if kind == "pool":
        operations.relay(member.user, member, minutes, to_pool_community=member.community,
                         reason="捐赠给社区爱心池", idempotency_key=key)
        return
    # To a neighbour in the same community if there is one, else another member.
    neighbours = [m for m in ctx.members if m is not member and m.is_approved
                  and m.community_id == member.community_id]
    to = rng.choice(neighbours) if neighbours else rng.choice(
        [m for m in ctx.members if m is not member and m.is_approved])
    operations.relay(member.user, member, minutes, to_member=to, reason="爱心接力",
                     idempotency_key=key)
