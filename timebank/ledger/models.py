"""The time-bank ledger: accounts, transactions and their postings.

Double entry: a transaction moves whole minutes between accounts through two or more postings
that sum to zero. Transactions and postings are append-only (database triggers refuse UPDATE and
DELETE); a mistake is corrected by a reversal that negates the original. Each transaction carries
a sha256 over its canonical content and the previous transaction's hash, so an edit made behind
the triggers' back is found by ``timebank ledger verify``.

The balances on account rows are caches kept in step with the postings inside the same database
transaction; verify checks them against the postings.
"""
from __future__ import annotations

import datetime as dt
import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (BigInteger, Boolean, CheckConstraint, ForeignKey, ForeignKeyConstraint,
                        Index, String, Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.accounts.models import User
from timebank.core import clock
from timebank.core.db import UTCDateTime
from timebank.extensions import db
from timebank.ledger import rules  # noqa: F401  (declares the regional rule settings)
from timebank.members.models import Member
from timebank.orgs.models import OrgNode


class AccountKind(enum.StrEnum):
    MEMBER = "member"
    #: One per community: receives donated hours and hours above a member's storage cap.
    POOL = "pool"
    #: One per district: the source of every deposit, so its balance is minus all hours issued.
    ISSUANCE = "issuance"
    #: One per district: where redeemed hours go.
    REDEMPTION = "redemption"

    @property
    def label(self) -> str:
        return str(ACCOUNT_KIND_LABELS[self])


ACCOUNT_KIND_LABELS = {
    AccountKind.MEMBER: _l("Member account"),
    AccountKind.POOL: _l("Community pool"),
    AccountKind.ISSUANCE: _l("District issuance account"),
    AccountKind.REDEMPTION: _l("Redemption account"),
}

#: Accounts that may go below zero.
OVERDRAFT_KINDS = frozenset({AccountKind.ISSUANCE})


class TxKind(enum.StrEnum):
    DEPOSIT = "deposit"
    REDEMPTION = "redemption"
    RELAY = "relay"
    REVERSAL = "reversal"

    @property
    def label(self) -> str:
        return str(TX_KIND_LABELS[self])


TX_KIND_LABELS = {
    TxKind.DEPOSIT: _l("Deposit"),
    TxKind.REDEMPTION: _l("Redemption"),
    TxKind.RELAY: _l("Relay"),
    TxKind.REVERSAL: _l("Reversal"),
}


class Account(db.Model):
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        CheckConstraint("kind IN ('member', 'pool', 'issuance', 'redemption')",
                        name="kind_valid"),
        # A member account belongs to a member; every other account to an org node.
        CheckConstraint("(kind = 'member') = (member_id IS NOT NULL)", name="member_owner"),
        CheckConstraint("(kind = 'member') = (org_id IS NULL)", name="org_owner"),
        CheckConstraint("NOT allow_negative OR kind = 'issuance'", name="overdraft_system_only"),
        # The database's own guarantee that no member or pool account is overdrawn.
        CheckConstraint("allow_negative OR balance_minutes >= 0", name="no_overdraft"),
        CheckConstraint("service_minutes >= 0", name="service_not_negative"),
        UniqueConstraint("kind", "org_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), unique=True)
    #: The community of a pool, the district of a system account.
    org_id: Mapped[int | None] = mapped_column(ForeignKey("org_nodes.id"))
    allow_negative: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Spendable balance (cache of the sum of this account's postings).
    balance_minutes: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Verified service minutes (member accounts): deposits minus their reversals, never
    #: lowered by relays or redemptions. Cache of ``Transaction.service_minutes``.
    service_minutes: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)

    member: Mapped[Member | None] = relationship()
    org: Mapped[OrgNode | None] = relationship()

    @property
    def kind_enum(self) -> AccountKind:
        return AccountKind(self.kind)

    def __repr__(self) -> str:
        return f"<Account {self.id} {self.kind} {self.member_id or self.org_id}>"


class Beneficiary(db.Model):
    """A family member registered by a member, who may receive services paid from their hours."""

    __tablename__ = "ledger_beneficiaries"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    #: Free text: 父亲, 母亲, 配偶 ...
    relation: Mapped[str] = mapped_column(String(20))
    #: Removed beneficiaries stay (old redemptions name them) but cannot be chosen again.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    member: Mapped[Member] = relationship()


class Transaction(db.Model):
    __tablename__ = "ledger_transactions"
    __table_args__ = (
        CheckConstraint("kind IN ('deposit', 'redemption', 'relay', 'reversal')",
                        name="kind_valid"),
        CheckConstraint("(kind = 'reversal') = (reverses_id IS NOT NULL)",
                        name="reversal_has_original"),
        CheckConstraint("service_minutes = 0 OR service_account_id IS NOT NULL",
                        name="service_has_account"),
        Index("ix_ledger_transactions_service_account_id_created_at", "service_account_id",
              "created_at"),
    )

    #: Position in the hash chain: assigned under the chain lock as the last id + 1, so ids have
    #: no gaps and follow the chain order (no database sequence).
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    #: Who did it; None for the system (CLI, jobs).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    #: What caused it, e.g. ("service_record", 42).
    source_type: Mapped[str | None] = mapped_column(String(32))
    source_id: Mapped[int | None] = mapped_column(BigInteger)
    #: Submitting the same key again returns this transaction and writes nothing.
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    #: For a reversal: the transaction it negates (at most one reversal per original).
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"),
                                                    unique=True)
    #: For a redemption received by a family member.
    beneficiary_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_beneficiaries.id"))
    #: Verified service minutes this transaction adds to (deposit) or takes from (reversal of a
    #: deposit) a member account. Kept apart from the postings because hours above the storage
    #: cap go to the pool while the member's service still counts in full.
    service_account_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_accounts.id"))
    service_minutes: Mapped[int] = mapped_column(BigInteger, default=0)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    postings: Mapped[list[Posting]] = relationship(
        back_populates="transaction", order_by="Posting.id", viewonly=True)
    actor: Mapped[User | None] = relationship()
    beneficiary: Mapped[Beneficiary | None] = relationship()
    reverses: Mapped[Transaction | None] = relationship(
        remote_side=[id], foreign_keys=[reverses_id], viewonly=True)
    reversed_by: Mapped[Transaction | None] = relationship(
        primaryjoin="Transaction.id == foreign(Transaction.reverses_id)", viewonly=True,
        uselist=False)

    @property
    def kind_enum(self) -> TxKind:
        return TxKind(self.kind)

    def __repr__(self) -> str:
        return f"<Transaction {self.id} {self.kind}>"


class Posting(db.Model):
    __tablename__ = "ledger_postings"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        # Postings are written before their transaction row (see operations._append), so the
        # reference is checked at commit.
        ForeignKeyConstraint(["transaction_id"], ["ledger_transactions.id"],
                             deferrable=True, initially="DEFERRED"),
        # The statement pages through one account's postings newest first.
        Index("ix_ledger_postings_account_id_id", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[int] = mapped_column(index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    #: Minutes, positive = credit to the account.
    amount: Mapped[int] = mapped_column(BigInteger)
    #: The account's balance right after this posting: the statement's running balance needs
    #: no window over the account's whole history.
    balance_after: Mapped[int] = mapped_column(BigInteger)

    transaction: Mapped[Transaction] = relationship(back_populates="postings", viewonly=True)
    account: Mapped[Account] = relationship()


#: The tables themselves, for the set-based statements of the write path and of verify.
ACCOUNTS = Account.__table__
POSTINGS = Posting.__table__
TRANSACTIONS = Transaction.__table__
