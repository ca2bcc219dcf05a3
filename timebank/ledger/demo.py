"""Demo data for the time bank: deposits for the first demo members over the last months, family
members, redemptions recorded by staff and relays to members and community pools.

Runs before the posts step, which deposits the hours of verified service records on top. Written
through the ledger's own operations, so the chain, the balances and the rules hold; times are
spread over the past months with the clock frozen for each entry. Deterministic (its own seeded
generator, so other steps' draws do not depend on this one).
"""
from __future__ import annotations

import datetime as dt
import random

from timebank.core import clock
from timebank.ledger import operations, queries

SEED = 20261124
#: Members (by position in ``ctx.members``) who get a history; 0 is the demo member login.
HISTORY_MEMBERS = 40
SERVICES = ["助老送餐", "空巢老人探访", "社区环境整治", "文明交通劝导", "课业辅导", "健康义诊",
            "垃圾分类引导", "平安巡逻", "理发义剪", "政策宣讲"]
REDEEMED = ["上门理发", "助浴服务", "陪同就医", "家电维修", "代买代办"]
FAMILY = [("母亲", "王秀兰"), ("父亲", "周建华"), ("配偶", "李娟"), ("岳母", "陈桂英")]


def seed(ctx) -> None:
    rng = random.Random(SEED)
    now = clock.now()
    start = now - dt.timedelta(days=150)
    members = ctx.members[:HISTORY_MEMBERS]
    events = []  # (when, kind, member index, extra)
    for i, _ in enumerate(members):
        for _ in range(12 if i == 0 else rng.randint(2, 8)):
            events.append((start + dt.timedelta(minutes=rng.randrange(140 * 24 * 60)),
                           "deposit", i, rng.choice([60, 90, 120, 120, 180, 240])))
    for i in range(0, HISTORY_MEMBERS, 4):
        events.append((start + dt.timedelta(days=140 + rng.randint(1, 9)), "redeem", i,
                       rng.choice([60, 90, 120])))
    for i in range(1, HISTORY_MEMBERS, 5):
        events.append((start + dt.timedelta(days=143 + rng.randint(1, 6)), "relay_pool", i,
                       rng.choice([30, 60, 90])))
    for i in range(2, HISTORY_MEMBERS, 7):
        events.append((start + dt.timedelta(days=145 + rng.randint(1, 4)), "relay_member", i,
                       rng.choice([30, 60])))
    events.sort(key=lambda e: e[0])

    family = {}
    for i in (0, 4, 8, 12):
        relation, name = FAMILY[(i // 4) % len(FAMILY)]
        family[i] = operations.add_beneficiary(None, members[i], name, relation)

    source = 0
    for when, kind, i, minutes in events:
        member = members[i]
        staff = ctx.staff.get(member.community_id)
        with clock.freeze(when):
            if kind == "deposit":
                source += 1
                operations.deposit(staff, member, minutes, source_type="demo", source_id=source,
                                   reason=rng.choice(SERVICES))
                continue
            # Spend no more than the member has at that time.
            minutes = min(minutes, queries.member_figures(member).balance_minutes)
            if minutes <= 0:
                continue
            if kind == "redeem":
                operations.redeem(staff, member, minutes, beneficiary=family.get(i),
                                  reason=rng.choice(REDEEMED), idempotency_key=f"demo-{i}")
            elif kind == "relay_pool":
                operations.relay(member.user, member, minutes, to_pool_community=member.community,
                                 reason="捐赠给社区爱心池", idempotency_key=f"demo-{i}")
            else:
                # To a neighbour in the same community if there is one, else the next member.
                neighbour = next((m for m in members if m is not member
                                  and m.community_id == member.community_id), None)
                operations.relay(member.user, member, minutes,
                                 to_member=neighbour or members[(i + 1) % len(members)],
                                 reason="爱心接力", idempotency_key=f"demo-{i}")
