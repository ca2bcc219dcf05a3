"""Spending hours: redemption for a service (for the member or a family member), relay to another
member or the community pool, and the family members hours can be redeemed for."""
from __future__ import annotations

import dataclasses

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from timebank.core import clock
from timebank.core.errors import Forbidden, Invalid
from timebank.extensions import db
from timebank.ledger import rules
from timebank.ledger.errors import (InsufficientBalance, RelayLimitExceeded, RelayNotAllowed)
from timebank.ledger.models import (ACCOUNTS, POSTINGS, TRANSACTIONS, AccountKind, Beneficiary,
                                    Transaction, TxKind)
from timebank.ledger.util import format_hours
from timebank.members.models import Member
from timebank.orgs.models import OrgKind, OrgNode

from timebank.ledger.operations.chain import (MAX_BENEFICIARIES, _Cursor, _append, _check_minutes,
                                              _clean_reason, _district_id, _idempotent, _key,
                                              _lock_refs, _recheck_key)


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
