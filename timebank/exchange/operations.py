"""Every write of the exchange: items by staff, requests by members, and their fulfilment,
refusal, cancellation and refund. Operations take the acting user, flush and never commit.

A request holds one unit the moment it is made: ``_take_unit`` tests the stock and decrements it
in one statement and the caller checks the row count (the way posts take a place), so 50
parallel requests for the last 3 units give exactly 3 requests on SQLite and PostgreSQL. Every
change of a request's status is a conditional UPDATE on its current status, so two staff (or a
member and staff) acting at once cannot both return a unit or both redeem.
"""
from __future__ import annotations

import dataclasses

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from timebank.audit import operations as audit
from timebank.core import clock, signals
from timebank.core.errors import Conflict, Forbidden, Invalid
from timebank.extensions import db
from timebank.exchange.models import (EXCHANGE_LEVELS, ExchangeItem, ExchangeRequest, ItemKind,
                                      RequestStatus)
from timebank.ledger import operations as ledger
from timebank.ledger import queries as ledger_queries
from timebank.ledger.models import Transaction, TxKind
from timebank.ledger.util import format_hours
from timebank.members.models import Member
from timebank.orgs.models import OrgKind, OrgNode

#: The highest price and stock one item may have (a sanity bound for typing mistakes).
MAX_PRICE_MINUTES = 100 * 60
MAX_STOCK = 100_000
MAX_NOTE = 500


class OutOfStock(Conflict):
    code = "out_of_stock"
    default_message = _l("Sorry, this item has just run out.")


class ItemUnavailable(Conflict):
    code = "item_unavailable"
    default_message = _l("This item is not offered at the moment.")


class BalanceShort(Conflict):
    code = "balance_short"
    default_message = _l("The member's balance is short of the price; nothing was redeemed.")


class NotEnoughHours(Conflict):
    code = "not_enough_hours"
    default_message = _l("Your balance is short of the price of this item.")


class RequestNotOpen(Conflict):
    code = "request_not_open"
    default_message = _l("This request has already been handled; reload the page.")


@dataclasses.dataclass
class ItemData:
    title: str
    kind: str
    price_minutes: int
    stock: int | None
    description: str = ""
    provider_name: str = ""
    provider_unit: OrgNode | None = None
    opening_times: str = ""
    active: bool = True


def _check_data(data: ItemData) -> None:
    data.title = (data.title or "").strip()
    if not data.title or len(data.title) > 100:
        raise Invalid(_l("Give the item a name of up to 100 characters."), field="title")
    if data.kind not in {k.value for k in ItemKind}:
        raise Invalid(_l("Choose goods or a service."), field="kind")
    if not isinstance(data.price_minutes, int) or not 0 < data.price_minutes <= MAX_PRICE_MINUTES:
        raise Invalid(_l("Enter a price between 0.1 and 100 hours."), field="price")
    if data.stock is not None and not 0 <= data.stock <= MAX_STOCK:
        raise Invalid(_l("Enter a stock between 0 and 100000, or leave it empty for unlimited."),
                      field="stock")
    if data.kind == ItemKind.GOODS and data.stock is None:
        raise Invalid(_l("Goods need a stock count."), field="stock")
    if data.provider_unit is not None and data.provider_unit.kind != OrgKind.UNIT:
        raise Invalid(_l("Choose a unit of the district."), field="provider_unit")
    data.description = (data.description or "").strip()
    data.provider_name = (data.provider_name or "").strip()[:100]
    data.opening_times = (data.opening_times or "").strip()[:200]


def _fields(data: ItemData) -> dict:
    return {"title": data.title, "kind": data.kind, "price_minutes": data.price_minutes,
            "stock": data.stock, "description": data.description,
            "provider_name": data.provider_name,
            "provider_unit_id": data.provider_unit.id if data.provider_unit else None,
            "opening_times": data.opening_times, "active": data.active}


def create_item(actor, org: OrgNode, data: ItemData) -> ExchangeItem:
    """A new item in the exchange of ``org`` (a community or a street)."""
    if actor is not None and not org.can_manage(actor):
        raise Forbidden()
    if org.kind not in EXCHANGE_LEVELS:
        raise Invalid(_l("An exchange belongs to a community or a street."), field="org")
    _check_data(data)
    item = ExchangeItem(org_id=org.id, created_by_id=actor.id if actor else None,
                        created_at=clock.now(), updated_at=clock.now(), **_fields(data))
    db.session.add(item)
    db.session.flush()
    audit.record(actor, "exchange.item_create", "exchange_item", item.id, org=org.id,
                 title=item.title, price_minutes=item.price_minutes, stock=item.stock)
    return item


def update_item(actor, item: ExchangeItem, data: ItemData) -> ExchangeItem:
    """Change an item. Open requests keep the price and the unit they hold: the stock set here
    is what is left beside them."""
    if actor is not None and not item.can_manage(actor):
        raise Forbidden()
    _check_data(data)
    before = {"price_minutes": item.price_minutes, "stock": item.stock, "active": item.active}
    for name, value in _fields(data).items():
        setattr(item, name, value)
    item.updated_at = clock.now()
    db.session.flush()
    audit.record(actor, "exchange.item_update", "exchange_item", item.id, before=before,
                 price_minutes=item.price_minutes, stock=item.stock, active=item.active)
    return item


def member_balance(member: Member) -> int:
    """The member's time-bank balance in minutes (the ledger's figure)."""
    return ledger_queries.member_figures(member).balance_minutes


# --- stock -------------------------------------------------------------------------------------

def _take_unit(item_id: int) -> bool:
    """One unit, if the item is offered and has one left; test and decrement are one statement
    (unlimited stock stays NULL)."""
    result = db.session.execute(
        update(ExchangeItem)
        .where(ExchangeItem.id == item_id, ExchangeItem.active.is_(True),
               (ExchangeItem.stock.is_(None)) | (ExchangeItem.stock > 0))
        .values(stock=ExchangeItem.stock - 1)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def _return_unit(item: ExchangeItem) -> None:
    db.session.execute(
        update(ExchangeItem).where(ExchangeItem.id == item.id, ExchangeItem.stock.is_not(None))
        .values(stock=ExchangeItem.stock + 1)
        .execution_options(synchronize_session=False))
    if item in db.session:
        db.session.expire(item, ["stock"])


def _move(req: ExchangeRequest, frm: RequestStatus, to: RequestStatus, actor, **values) -> None:
    """Change the request's status if it is still ``frm`` (else someone was first)."""
    result = db.session.execute(
        update(ExchangeRequest)
        .where(ExchangeRequest.id == req.id, ExchangeRequest.status == frm.value)
        .values(status=to.value, decided_at=clock.now(),
                decided_by_id=actor.id if actor is not None else None, **values)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise RequestNotOpen()
    db.session.expire(req)


# --- requests ----------------------------------------------------------------------------------

def request_item(actor, member: Member, item: ExchangeItem) -> ExchangeRequest:
    """The member asks for one unit of ``item``; the unit is held at once."""
    if actor is not None and actor.id != member.user_id:
        raise Forbidden()
    if not item.open_to(member):
        raise ItemUnavailable()
    # Checked again at fulfilment (the hours may be spent meanwhile); here it only keeps a
    # member from holding a unit they could not pay for.
    if member_balance(member) < item.price_minutes:
        raise NotEnoughHours(_l(
            "Your balance is %(balance)s hours; this item costs %(price)s hours.",
            balance=format_hours(member_balance(member)),
            price=format_hours(item.price_minutes)))
    if not _take_unit(item.id):
        db.session.refresh(item)
        raise OutOfStock() if item.active else ItemUnavailable()
    req = ExchangeRequest(item_id=item.id, member_id=member.id,
                          status=RequestStatus.REQUESTED.value,
                          price_minutes=item.price_minutes, created_at=clock.now())
    db.session.add(req)
    db.session.flush()
    if item in db.session:
        db.session.expire(item, ["stock"])
    return req


def cancel_request(actor, req: ExchangeRequest) -> None:
    """The member takes back a request not yet fulfilled; the unit returns to stock."""
    if actor is None or actor.id != req.member.user_id:
        raise Forbidden()
    _move(req, RequestStatus.REQUESTED, RequestStatus.CANCELLED, actor)
    _return_unit(req.item)


def _note(note: str, required: bool) -> str:
    note = (note or "").strip()
    if required and not note:
        raise Invalid(_l("Give a reason."), field="note")
    if len(note) > MAX_NOTE:
        raise Invalid(_l("The reason may have up to 500 characters."), field="note")
    return note


def refuse_request(actor, req: ExchangeRequest, note: str) -> None:
    """Staff refuse an open request; the unit returns to stock."""
    if actor is not None and not req.item.can_manage(actor):
        raise Forbidden()
    note = _note(note, required=True)
    _move(req, RequestStatus.REQUESTED, RequestStatus.REFUSED, actor, note=note)
    _return_unit(req.item)
    audit.record(actor, "exchange.request_refuse", "exchange_request", req.id,
                 item=req.item_id, member=req.member_id, note=note)


def fulfil_request(actor, req: ExchangeRequest) -> Transaction:
    """Staff hand the item over: the price is redeemed from the member's balance in the ledger.
    A short balance refuses the fulfilment and changes nothing (the request stays open)."""
    if actor is not None and not req.item.can_manage(actor):
        raise Forbidden()
    member, item = req.member, req.item
    try:
        with db.session.begin_nested():
            _move(req, RequestStatus.REQUESTED, RequestStatus.FULFILLED, actor)
            tx = ledger.redeem(actor, member, req.price_minutes,
                               reason=f"爱心超市兑换：{item.title}",
                               idempotency_key=f"exchange-request-{req.id}")
            db.session.execute(
                update(ExchangeRequest).where(ExchangeRequest.id == req.id)
                .values(transaction_id=tx.id).execution_options(synchronize_session=False))
    except ledger.InsufficientBalance:
        db.session.expire(req)
        balance = member_balance(member)
        raise BalanceShort(_l(
            "%(name)s has %(balance)s hours but the price is %(price)s hours; nothing was "
            "redeemed and the request stays open.", name=member.name,
            balance=format_hours(balance), price=format_hours(req.price_minutes))) from None
    db.session.expire(req)
    audit.record(actor, "exchange.request_fulfil", "exchange_request", req.id,
                 item=req.item_id, member=req.member_id, minutes=req.price_minutes,
                 transaction=tx.id)
    return tx


def refund_request(actor, req: ExchangeRequest, note: str) -> Transaction:
    """Staff cancel a fulfilled request: its redemption is reversed in the ledger (the hours go
    back to the member) and the unit returns to stock."""
    if actor is not None and not req.item.can_manage(actor):
        raise Forbidden()
    note = _note(note, required=True)
    if req.status != RequestStatus.FULFILLED or req.transaction_id is None:
        raise RequestNotOpen(_l("Only a fulfilled request can be refunded."))
    original = db.session.get(Transaction, req.transaction_id)
    with db.session.begin_nested():
        _move(req, RequestStatus.FULFILLED, RequestStatus.REFUNDED, actor, note=note)
        reversal = ledger.reverse(actor, original, f"爱心超市退还：{note}")
        db.session.execute(
            update(ExchangeRequest).where(ExchangeRequest.id == req.id)
            .values(reversal_id=reversal.id).execution_options(synchronize_session=False))
        _return_unit(req.item)
    db.session.expire(req)
    audit.record(actor, "exchange.request_refund", "exchange_request", req.id,
                 item=req.item_id, member=req.member_id, transaction=original.id,
                 reversal=reversal.id, note=note)
    return reversal


@signals.ledger_reversed.connect
def _redemption_reversed(original, *, reversal, actor, reason, **_extra) -> None:
    """An exchange's redemption was reversed on the ledger's own page: the request counts as
    refunded and its unit returns to stock (a refund made here has moved the request already,
    so this changes nothing)."""
    if original.kind != TxKind.REDEMPTION:
        return
    req = db.session.execute(select(ExchangeRequest).where(
        ExchangeRequest.transaction_id == original.id)).scalar_one_or_none()
    if req is None or req.status != RequestStatus.FULFILLED:
        return
    try:
        _move(req, RequestStatus.FULFILLED, RequestStatus.REFUNDED, actor,
              note=(reason or "")[:MAX_NOTE], reversal_id=reversal.id)
    except RequestNotOpen:
        return
    _return_unit(req.item)
    audit.record(actor, "exchange.request_refund", "exchange_request", req.id,
                 item=req.item_id, member=req.member_id, transaction=original.id,
                 reversal=reversal.id, note=reason, via="ledger")
