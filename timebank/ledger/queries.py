"""Reads of the ledger: a member's figures and statement, service minutes for rankings, totals
for staff, and :func:`verify`, which checks every guarantee against the stored rows."""
from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections import defaultdict

from sqlalchemy import case, func, null, select, type_coerce

from timebank.core.db import UTCDateTime
from timebank.extensions import db
from timebank.ledger.models import (ACCOUNTS, POSTINGS, Account, AccountKind,
                                    Beneficiary, Transaction, TxKind)
from timebank.members.models import Member
from timebank.orgs.models import OrgKind, OrgNode



# --- a member's figures and statement ----------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Figures:
    #: What the member can redeem or relay.
    balance_minutes: int
    #: Verified service (deposits minus their reversals); never lowered by relays/redemptions.
    service_minutes: int


def member_figures(member: Member | int) -> Figures:
    """O(1): the cached figures on the member's account row."""
    member_id = member if isinstance(member, int) else member.id
    row = db.session.execute(
        select(ACCOUNTS.c.balance_minutes, ACCOUNTS.c.service_minutes)
        .where(ACCOUNTS.c.member_id == member_id)).first()
    return Figures(int(row[0]), int(row[1])) if row else Figures(0, 0)


def account_for_member(member: Member | int) -> Account | None:
    member_id = member if isinstance(member, int) else member.id
    return db.session.execute(
        select(Account).where(Account.member_id == member_id)).scalar_one_or_none()


def pool_account(community: OrgNode) -> Account | None:
    return db.session.execute(select(Account).where(
        Account.kind == AccountKind.POOL, Account.org_id == community.id)).scalar_one_or_none()


@dataclasses.dataclass(frozen=True)
class Entry:
    """One line of a statement: a posting on the account and what its transaction was."""

    posting_id: int
    transaction_id: int
    #: When the entry was posted.
    at: dt.datetime
    kind: str
    reason: str
    amount: int
    balance_after: int
    #: Who the minutes came from / went to (other members and pools; system accounts omitted).
    counterparties: tuple[str, ...]
    beneficiary: str | None
    reverses_id: int | None
    reversed_by_id: int | None
    source_type: str | None
    source_id: int | None
    #: When the service it pays for (or reverses) was done; None when it pays for no service.
    served_at: dt.datetime | None = None

    @property
    def kind_enum(self) -> TxKind:
        return TxKind(self.kind)

    @property
    def date(self) -> dt.datetime:
        """The date a member reads: when the service was done, else when it was posted."""
        return self.served_at or self.at


@dataclasses.dataclass
class StatementPage:
    """A page of entries, newest first (the attributes the ``pager`` macro reads)."""

    items: list[Entry]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def account_labels(account_ids) -> dict[int, str]:
    """Display names: members by name, pools by community name; system accounts by kind."""
    from timebank.accounts.models import User

    out: dict[int, str] = {}
    if not account_ids:
        return out
    rows = db.session.execute(
        select(Account.id, Account.kind, User.name, OrgNode.name)
        .outerjoin(Member, Member.id == Account.member_id)
        .outerjoin(User, User.id == Member.user_id)
        .outerjoin(OrgNode, OrgNode.id == Account.org_id)
        .where(Account.id.in_(set(account_ids)))).all()
    for acct_id, kind, user_name, org_name in rows:
        if kind == AccountKind.MEMBER:
            out[acct_id] = user_name
        elif kind == AccountKind.POOL:
            out[acct_id] = f"{org_name} · {AccountKind.POOL.label}"
        else:
            out[acct_id] = AccountKind(kind).label
    return out


#: source_type -> (id column, time column) of the records deposits name as their source: when
#: the service was done. The feature owning the records registers them (posts registers its
#: service records); the ledger sits below it and cannot name its tables.
SERVICE_TIMES: dict[str, tuple] = {}


def register_service_time(source_type: str, id_column, time_column) -> None:
    SERVICE_TIMES[source_type] = (id_column, time_column)


def _served_at():
    """SQL: when the service of a transaction's source was done (NULL for other sources)."""
    whens = [(Transaction.source_type == source_type,
              select(time_col).where(id_col == Transaction.source_id).scalar_subquery())
             for source_type, (id_col, time_col) in SERVICE_TIMES.items()]
    if not whens:
        return None
    return case(*whens, else_=None)


def account_statement(account_id: int | None, page: int = 1, per_page: int = 20,
                      by_service_date: bool = False) -> StatementPage:
    """Postings of one account, newest first, each with the balance after it.

    ``by_service_date`` (a member's statement): newest first by the date the service was done
    (a deposit and its reversal by their source record's time, any other entry by when it was
    posted), then by posting. Otherwise by posting alone (pools and system accounts, whose
    hundreds of thousands of entries page by the (account, id) index)."""
    page = max(1, int(page))
    per_page = max(1, min(int(per_page), 500))
    if account_id is None:
        return StatementPage([], page, per_page, 0)
    total = db.session.execute(select(func.count()).select_from(POSTINGS)
                               .where(POSTINGS.c.account_id == account_id)).scalar_one()
    served = _served_at()
    stmt = (select(POSTINGS.c.id, POSTINGS.c.transaction_id, POSTINGS.c.amount,
                   POSTINGS.c.balance_after, Transaction.created_at, Transaction.kind,
                   Transaction.reason, Transaction.reverses_id, Transaction.beneficiary_id,
                   Transaction.source_type, Transaction.source_id,
                   type_coerce(served if served is not None else null(),
                               UTCDateTime()).label("served_at"))
            .join(Transaction, Transaction.id == POSTINGS.c.transaction_id)
            .where(POSTINGS.c.account_id == account_id))
    if by_service_date and served is not None:
        stmt = stmt.order_by(func.coalesce(served, Transaction.created_at).desc(),
                             POSTINGS.c.id.desc())
    else:
        stmt = stmt.order_by(POSTINGS.c.id.desc())
    rows = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    tx_ids = [r.transaction_id for r in rows]
    others: dict[int, list[tuple[int, int]]] = defaultdict(list)
    reversed_by: dict[int, int] = {}
    beneficiaries: dict[int, str] = {}
    if tx_ids:
        for tx_id, acct, amount in db.session.execute(
                select(POSTINGS.c.transaction_id, POSTINGS.c.account_id, POSTINGS.c.amount)
                .where(POSTINGS.c.transaction_id.in_(tx_ids),
                       POSTINGS.c.account_id != account_id)):
            others[tx_id].append((acct, amount))
        reversed_by = dict(db.session.execute(
            select(Transaction.reverses_id, Transaction.id)
            .where(Transaction.reverses_id.in_(tx_ids))).all())
        ben_ids = {r.beneficiary_id for r in rows if r.beneficiary_id}
        if ben_ids:
            beneficiaries = {b.id: f"{b.name}（{b.relation}）" for b in db.session.execute(
                select(Beneficiary).where(Beneficiary.id.in_(ben_ids))).scalars()}
    system = {a.id for a in db.session.execute(
        select(ACCOUNTS.c.id).where(ACCOUNTS.c.kind.in_(
            [AccountKind.ISSUANCE.value, AccountKind.REDEMPTION.value])))}
    labels = account_labels({a for legs in others.values() for a, _ in legs} - system)
    items = []
    for r in rows:
        # The other side: accounts moving the opposite way (a member's deposit shows no
        # counterparty; a relay shows the recipient or the giver).
        names = tuple(labels[a] for a, amount in others.get(r.transaction_id, ())
                      if a in labels and (amount > 0) != (r.amount > 0))
        items.append(Entry(
            posting_id=r.id, transaction_id=r.transaction_id, at=r.created_at, kind=r.kind,
            reason=r.reason, amount=int(r.amount), balance_after=int(r.balance_after),
            counterparties=names, beneficiary=beneficiaries.get(r.beneficiary_id),
            reverses_id=r.reverses_id, reversed_by_id=reversed_by.get(r.transaction_id),
            source_type=r.source_type, source_id=r.source_id, served_at=r.served_at))
    return StatementPage(items, page, per_page, total)


def statement(member: Member | int, page: int = 1, per_page: int = 20) -> StatementPage:
    """The member's statement, newest first by the date the service was done (then by
    posting), with the balance after each entry. The one order of the page, the PDF and the
    xlsx."""
    member_id = member if isinstance(member, int) else member.id
    account_id = db.session.execute(
        select(ACCOUNTS.c.id).where(ACCOUNTS.c.member_id == member_id)).scalar()
    return account_statement(account_id, page, per_page, by_service_date=True)


def all_entries(account_id: int | None, batch: int = 500, by_service_date: bool = False):
    """Every entry of an account, in :func:`account_statement`'s order (for exports)."""
    page = 1
    while True:
        chunk = account_statement(account_id, page, batch, by_service_date)
        yield from chunk.items
        if not chunk.has_next:
            return
        page += 1


# --- figures for other features ----------------------------------------------------------------

def service_minutes(member_ids=None, start: dt.datetime | None = None,
                    end: dt.datetime | None = None) -> dict[int, int]:
    """Verified service minutes (deposits minus reversals of deposits) per member, counting
    transactions whose time is in [start, end). Members asked for but without service get 0."""
    stmt = (select(Account.member_id, func.sum(Transaction.service_minutes))
            .join(Account, Account.id == Transaction.service_account_id)
            .where(Transaction.service_minutes != 0)
            .group_by(Account.member_id))
    if member_ids is not None:
        member_ids = list(member_ids)
        if not member_ids:
            return {}
        stmt = stmt.where(Account.member_id.in_(member_ids))
    if start is not None:
        stmt = stmt.where(Transaction.created_at >= start)
    if end is not None:
        stmt = stmt.where(Transaction.created_at < end)
    out = {int(m): int(total) for m, total in db.session.execute(stmt)}
    if member_ids is not None:
        for m in member_ids:
            out.setdefault(m, 0)
    return out


def deposit_for(source_type: str, source_id: int) -> Transaction | None:
    """The deposit made for a source record, if any (check ``reversed_by`` for a reversal)."""
    return db.session.execute(select(Transaction).where(
        Transaction.idempotency_key == f"deposit:{source_type}:{source_id}")).scalar_one_or_none()


def beneficiaries(member: Member, active_only: bool = True) -> list[Beneficiary]:
    stmt = select(Beneficiary).where(Beneficiary.member_id == member.id)
    if active_only:
        stmt = stmt.where(Beneficiary.active.is_(True))
    return list(db.session.execute(stmt.order_by(Beneficiary.id)).scalars())


# --- totals for staff --------------------------------------------------------------------------

@dataclasses.dataclass
class CommunityTotals:
    community: OrgNode
    members: int = 0
    balance_minutes: int = 0
    service_minutes: int = 0
    pool_minutes: int = 0


@dataclasses.dataclass
class StreetTotals:
    street: OrgNode
    communities: list[CommunityTotals]

    @property
    def members(self) -> int:
        return sum(c.members for c in self.communities)

    @property
    def balance_minutes(self) -> int:
        return sum(c.balance_minutes for c in self.communities)

    @property
    def service_minutes(self) -> int:
        return sum(c.service_minutes for c in self.communities)

    @property
    def pool_minutes(self) -> int:
        return sum(c.pool_minutes for c in self.communities)


def totals(root: OrgNode) -> list[StreetTotals]:
    """Member balances, service and pool per community under ``root``, grouped by street."""
    communities = list(db.session.execute(
        select(OrgNode).where(OrgNode.path.like(f"{root.path}%"),
                              OrgNode.kind == OrgKind.COMMUNITY)
        .order_by(OrgNode.path)).scalars())
    by_id = {c.id: CommunityTotals(c) for c in communities}
    if by_id:
        for cid, n, bal, svc in db.session.execute(
                select(Member.community_id, func.count(Account.id),
                       func.coalesce(func.sum(Account.balance_minutes), 0),
                       func.coalesce(func.sum(Account.service_minutes), 0))
                .join(Account, Account.member_id == Member.id)
                .where(Member.community_id.in_(by_id)).group_by(Member.community_id)):
            t = by_id[cid]
            t.members, t.balance_minutes, t.service_minutes = int(n), int(bal), int(svc)
        for org_id, bal in db.session.execute(
                select(Account.org_id, Account.balance_minutes)
                .where(Account.kind == AccountKind.POOL, Account.org_id.in_(by_id))):
            by_id[org_id].pool_minutes = int(bal)
    streets: dict[int, StreetTotals] = {}
    for c in communities:
        street = c.parent
        streets.setdefault(street.id, StreetTotals(street, [])).communities.append(by_id[c.id])
    return list(streets.values())


def system_totals(district: OrgNode) -> dict[str, int]:
    """Hours issued (minus the issuance balance) and redeemed in a district."""
    rows = dict(db.session.execute(
        select(Account.kind, Account.balance_minutes)
        .where(Account.org_id == district.id,
               Account.kind.in_([AccountKind.ISSUANCE.value,
                                 AccountKind.REDEMPTION.value]))).all())
    return {"issued": -int(rows.get(AccountKind.ISSUANCE.value, 0)),
            "redeemed": int(rows.get(AccountKind.REDEMPTION.value, 0))}


def community_members(community: OrgNode, page: int, per_page: int):
    """Members of a community by name (a ``db.paginate`` page) and their figures by member id."""
    from timebank.accounts.models import User

    stmt = (select(Member).join(User, User.id == Member.user_id)
            .where(Member.community_id == community.id).order_by(User.name, Member.id))
    members = db.paginate(stmt, page=page, per_page=per_page, error_out=False, count=True)
    figures = {m: Figures(int(b), int(s)) for m, b, s in db.session.execute(
        select(Account.member_id, Account.balance_minutes, Account.service_minutes)
        .where(Account.member_id.in_([m.id for m in members.items])))}
    return members, figures
