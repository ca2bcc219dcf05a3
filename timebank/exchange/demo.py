"""Demo data of the exchange: an exchange per street (goods donated by units, services of
providers) plus one community exchange, and a past of requests: fulfilled (each a redemption in
the ledger, written with the clock frozen when it happened), refused, cancelled, one refunded,
and a few still open for the staff's queue.

Runs after the ledger step: requests are put on ``ctx.history`` in the latest stretch of history
and only members whose balance covers the price then ask, so no fulfilment overdraws.
Deterministic (its own seeded generator).
"""
from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select

from timebank.accounts.models import Role, RoleAssignment
from timebank.core import clock
from timebank.core.errors import DomainError
from timebank.exchange import operations
from timebank.exchange.models import ExchangeItem
from timebank.extensions import db
from timebank.ledger import queries as ledger_queries

SEED = 20261208
#: (title, kind, price in minutes, stock or None, opening times, description)
STREET_ITEMS = [
    ("大米（5 公斤）", "goods", 120, 12, "每周六 9:00-11:30", "驻区单位捐赠，凭时长兑换一袋。"),
    ("食用油（1.8 升）", "goods", 90, 10, "每周六 9:00-11:30", "驻区单位捐赠。"),
    ("上门理发", "service", 60, None, "预约后上门，工作日下午", "志愿理发师为老人上门理发。"),
    ("家电小修", "service", 90, None, "每月第一个周日上午", "小家电检查和简单维修。"),
]
COMMUNITY_ITEMS = [
    ("爱心洗衣液", "goods", 60, 8, "工作日 9:00-17:00 社区服务站", "社区爱心超市货架。"),
    ("助浴服务", "service", 120, None, "预约后安排", "为行动不便的老人提供助浴。"),
]
#: Past requests over the latest stretch; how each ends is drawn when it is made.
REQUESTS = 36
#: Only members holding at least the price plus this much ask (they keep some hours).
MARGIN = 120


def _street_admin(street) -> object | None:
    return db.session.execute(
        select(RoleAssignment).where(RoleAssignment.role == Role.STREET_ADMIN.value,
                                     RoleAssignment.org_id == street.id)
        .order_by(RoleAssignment.id).limit(1)).scalar_one_or_none()


def seed(ctx) -> None:
    rng = random.Random(SEED)
    first = ctx.periods[-1][0]
    opened = clock.local_datetime(first + dt.timedelta(days=20), dt.time(9))
    items: list[ExchangeItem] = []
    managers: dict[int, object] = {}
    with clock.freeze(opened):
        for n, street in enumerate(ctx.streets):
            ra = _street_admin(street)
            actor = ra.user if ra is not None else ctx.admin
            managers[street.id] = actor
            for i, (title, kind, price, stock, hours, text) in enumerate(STREET_ITEMS):
                unit = ctx.units[(n * 4 + i) % len(ctx.units)] if kind == "goods" else None
                items.append(operations.create_item(actor, street, operations.ItemData(
                    title=title, kind=kind, price_minutes=price, stock=stock,
                    description=text, provider_unit=unit,
                    provider_name="" if unit else f"{street.name}志愿服务队",
                    opening_times=hours)))
        community = ctx.communities[0]
        managers[community.id] = ctx.staff[community.id]
        for title, kind, price, stock, hours, text in COMMUNITY_ITEMS:
            items.append(operations.create_item(
                ctx.staff[community.id], community, operations.ItemData(
                    title=title, kind=kind, price_minutes=price, stock=stock, description=text,
                    provider_name=f"{community.name}爱心超市", opening_times=hours)))
    start = opened + dt.timedelta(days=10)
    span = int((ctx.now - start).total_seconds() // 60)
    if span <= 0:
        return
    item_ids = [i.id for i in items]
    for n in range(REQUESTS):
        when = start + dt.timedelta(minutes=rng.randrange(span))
        ctx.history.at(when, _request, ctx, rng, managers, item_ids, None)
    # The demo member: one collected a while ago, one waiting now.
    demo = ctx.members[0]
    ctx.history.at(start + dt.timedelta(minutes=span // 2), _request, ctx, rng, managers,
                   item_ids, demo)
    ctx.history.at(ctx.now - dt.timedelta(hours=3), _request, ctx, rng, managers, item_ids,
                   demo)


def _balance(member) -> int:
    return ledger_queries.member_figures(member).balance_minutes


def _request(ctx, rng, managers, item_ids, member) -> None:
    items = [db.session.get(ExchangeItem, i) for i in item_ids]
    if member is None:
        member = rng.choice(ctx.members[1:])
    affordable = [i for i in items if i.available and i.open_to(member)
                  and _balance(member) >= i.price_minutes + MARGIN]
    if not affordable:
        return
    item = rng.choice(affordable)
    try:
        req = operations.request_item(member.user, member, item)
    except DomainError:
        return
    manager = managers[item.org_id]
    # Recent requests wait in the queue; older ones were handled a day or two later.
    decided = clock.now() + dt.timedelta(days=rng.choice([1, 1, 2]), hours=rng.randrange(1, 5))
    if decided >= ctx.now - dt.timedelta(days=1):
        return
    outcome = rng.random()
    if outcome < 0.75:
        ctx.history.at(decided, _fulfil, ctx, rng, manager, req.id)
    elif outcome < 0.88:
        ctx.history.at(decided, _refuse, manager, req.id, "本期已发放完毕，请下次再来")
    else:
        ctx.history.at(decided, _cancel, member, req.id)


def _get(req_id: int):
    from timebank.exchange.models import ExchangeRequest

    return db.session.get(ExchangeRequest, req_id)


def _fulfil(ctx, rng, manager, req_id: int) -> None:
    req = _get(req_id)
    try:
        operations.fulfil_request(manager, req)
    except DomainError:
        # The member spent the hours elsewhere meanwhile: the staff refuse instead.
        operations.refuse_request(manager, req, "时长余额不足")
        return
    if rng.random() < 0.08:
        later = clock.now() + dt.timedelta(days=3)
        ctx.history.at(later, _refund, manager, req_id)


def _refund(manager, req_id: int) -> None:
    try:
        operations.refund_request(manager, _get(req_id), "物品有质量问题，退还时长")
    except DomainError:
        pass  # the hours came back and were spent again: the refund cannot be reversed


def _refuse(manager, req_id: int, note: str) -> None:
    operations.refuse_request(manager, _get(req_id), note)


def _cancel(member, req_id: int) -> None:
    operations.cancel_request(member.user, _get(req_id))
