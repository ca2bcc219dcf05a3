"""Reads for the exchange pages, always scoped: a member's exchanges, a staff user's orgs."""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from timebank.exchange.models import (EXCHANGE_LEVELS, ExchangeItem, ExchangeRequest,
                                      RequestStatus, exchange_org_ids)
from timebank.extensions import db
from timebank.members.models import Member
from timebank.orgs.models import OrgKind, OrgNode


def items_for_member(member: Member, page: int = 1, per_page: int = 20):
    """Active items of the member's community and street, those with stock first."""
    stmt = (select(ExchangeItem)
            .where(ExchangeItem.org_id.in_(exchange_org_ids(member)),
                   ExchangeItem.active.is_(True))
            .options(selectinload(ExchangeItem.org), selectinload(ExchangeItem.provider_unit))
            .order_by((ExchangeItem.stock == 0).asc(), ExchangeItem.kind, ExchangeItem.title,
                      ExchangeItem.id))
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def requests_of_member(member: Member, page: int = 1, per_page: int = 20):
    stmt = (select(ExchangeRequest).where(ExchangeRequest.member_id == member.id)
            .options(selectinload(ExchangeRequest.item))
            .order_by(ExchangeRequest.created_at.desc(), ExchangeRequest.id.desc()))
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def open_request(member: Member, item: ExchangeItem) -> ExchangeRequest | None:
    return db.session.execute(
        select(ExchangeRequest).where(ExchangeRequest.member_id == member.id,
                                      ExchangeRequest.item_id == item.id,
                                      ExchangeRequest.status == RequestStatus.REQUESTED.value)
        .limit(1)).scalar_one_or_none()


def _managed_org_ids(user):
    roots = user.scope_roots() if user.is_authenticated else []
    if not roots:
        return select(OrgNode.id).where(OrgNode.id.is_(None))
    return select(OrgNode.id).where(OrgNode.kind.in_(EXCHANGE_LEVELS),
                                    or_(*[OrgNode.path.like(f"{r.path}%") for r in roots]))


def managed_orgs(user) -> list[OrgNode]:
    """The streets and communities whose exchange ``user`` runs."""
    return list(db.session.execute(
        select(OrgNode).where(OrgNode.id.in_(_managed_org_ids(user)), OrgNode.active.is_(True))
        .order_by(OrgNode.path)).scalars())


def managed_items(user, page: int = 1, per_page: int = 50):
    stmt = (select(ExchangeItem).where(ExchangeItem.org_id.in_(_managed_org_ids(user)))
            .options(selectinload(ExchangeItem.org), selectinload(ExchangeItem.provider_unit))
            .order_by(ExchangeItem.active.desc(), ExchangeItem.org_id, ExchangeItem.title,
                      ExchangeItem.id))
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def request_queue(user, status: str | None = RequestStatus.REQUESTED.value, page: int = 1,
                  per_page: int = 50):
    """Requests for items ``user`` manages; open ones oldest first (first come, first served)."""
    stmt = (select(ExchangeRequest).join(ExchangeItem)
            .where(ExchangeItem.org_id.in_(_managed_org_ids(user)))
            .options(selectinload(ExchangeRequest.item),
                     selectinload(ExchangeRequest.member).selectinload(Member.community)))
    if status:
        stmt = stmt.where(ExchangeRequest.status == status)
    if status == RequestStatus.REQUESTED.value:
        stmt = stmt.order_by(ExchangeRequest.created_at, ExchangeRequest.id)
    else:
        stmt = stmt.order_by(ExchangeRequest.created_at.desc(), ExchangeRequest.id.desc())
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def units(district_id: int | None = None) -> list[OrgNode]:
    """Units that may be named as providers."""
    stmt = select(OrgNode).where(OrgNode.kind == OrgKind.UNIT.value, OrgNode.active.is_(True))
    return list(db.session.execute(stmt.order_by(OrgNode.name)).scalars())
