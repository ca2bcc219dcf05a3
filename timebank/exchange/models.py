"""The exchange (爱心超市 / 服务回馈 catalogue): items a community or a street offers for hours,
and members' requests for them.

Stock: ``exchange_items.stock`` only changes in a conditional UPDATE that tests it in the same
statement (see operations), so parallel requests for the last units cannot oversell; a CHECK
keeps it from going below zero. ``stock`` NULL means unlimited (a service offered as often as
asked). A request holds its unit from the moment it is made; refusing or cancelling it gives the
unit back.
"""
from __future__ import annotations

import datetime as dt
import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.core import clock
from timebank.core.db import UTCDateTime
from timebank.extensions import db
from timebank.members.models import Member
from timebank.orgs.models import OrgKind, OrgNode


class ItemKind(enum.StrEnum):
    GOODS = "goods"
    SERVICE = "service"

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self])


KIND_LABELS = {ItemKind.GOODS: _l("Goods"), ItemKind.SERVICE: _l("Service (exchange)")}


class RequestStatus(enum.StrEnum):
    #: Made by the member; holds one unit of stock.
    REQUESTED = "requested"
    #: Handed over; the price was redeemed from the member's balance.
    FULFILLED = "fulfilled"
    #: Refused by staff before fulfilment; the unit went back to stock.
    REFUSED = "refused"
    #: Cancelled by the member before fulfilment; the unit went back to stock.
    CANCELLED = "cancelled"
    #: Fulfilled, then cancelled by staff: the redemption was reversed and the unit returned.
    REFUNDED = "refunded"

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self])


STATUS_LABELS = {
    RequestStatus.REQUESTED: _l("Waiting for the staff"),
    RequestStatus.FULFILLED: _l("Fulfilled"),
    RequestStatus.REFUSED: _l("Refused by the staff"),
    RequestStatus.CANCELLED: _l("Cancelled by the member"),
    RequestStatus.REFUNDED: _l("Refunded"),
}

#: Where an exchange can be run.
EXCHANGE_LEVELS = (OrgKind.COMMUNITY.value, OrgKind.STREET.value)


class ExchangeItem(db.Model):
    __tablename__ = "exchange_items"
    __table_args__ = (
        CheckConstraint("kind IN ('goods', 'service')", name="kind_valid"),
        CheckConstraint("price_minutes > 0", name="price_positive"),
        CheckConstraint("stock IS NULL OR stock >= 0", name="stock_not_negative"),
        Index("ix_exchange_items_org_id_active", "org_id", "active"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The community or street that runs this exchange.
    org_id: Mapped[int] = mapped_column(ForeignKey("org_nodes.id"))
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16))
    #: The price in minutes of the time bank (shown in hours).
    price_minutes: Mapped[int]
    #: Units left to request; NULL = unlimited.
    stock: Mapped[int | None]
    #: Who provides it, as free text (a shop, a volunteer) ...
    provider_name: Mapped[str] = mapped_column(String(100), default="")
    #: ... or a unit of the district (goods donated by a unit).
    provider_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_nodes.id"))
    opening_times: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)

    org: Mapped[OrgNode] = relationship(foreign_keys=[org_id])
    provider_unit: Mapped[OrgNode | None] = relationship(foreign_keys=[provider_unit_id])

    @property
    def kind_enum(self) -> ItemKind:
        return ItemKind(self.kind)

    @property
    def provider(self) -> str:
        if self.provider_unit is not None:
            return self.provider_unit.name
        return self.provider_name

    @property
    def unlimited(self) -> bool:
        return self.stock is None

    @property
    def available(self) -> bool:
        return self.active and (self.stock is None or self.stock > 0)

    def can_manage(self, user) -> bool:
        """Staff of the item's community or street (or above it)."""
        return self.org.can_manage(user)

    def open_to(self, member: Member | None) -> bool:
        """An approved member sees the exchanges of their community and of its street."""
        return (member is not None and member.is_approved
                and self.org_id in exchange_org_ids(member))


def exchange_org_ids(member: Member) -> list[int]:
    """The communities and streets whose exchanges ``member`` may use."""
    ids = [member.community_id]
    street = member.community.street
    if street is not None:
        ids.append(street.id)
    return ids


class ExchangeRequest(db.Model):
    __tablename__ = "exchange_requests"
    __table_args__ = (
        CheckConstraint(
            "status IN ('requested', 'fulfilled', 'refused', 'cancelled', 'refunded')",
            name="status_valid"),
        CheckConstraint("price_minutes > 0", name="price_positive"),
        Index("ix_exchange_requests_item_id_status", "item_id", "status"),
        Index("ix_exchange_requests_member_id_created_at", "member_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("exchange_items.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    status: Mapped[str] = mapped_column(String(16), default=RequestStatus.REQUESTED.value)
    #: The price when requested: a later price change does not touch open requests.
    price_minutes: Mapped[int]
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The staff's reason for refusing or refunding.
    note: Mapped[str] = mapped_column(Text, default="")
    #: The redemption written at fulfilment, and its reversal at a refund.
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    reversal_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))

    item: Mapped[ExchangeItem] = relationship()
    member: Mapped[Member] = relationship()

    @property
    def status_enum(self) -> RequestStatus:
        return RequestStatus(self.status)

    @property
    def is_open(self) -> bool:
        return self.status == RequestStatus.REQUESTED
