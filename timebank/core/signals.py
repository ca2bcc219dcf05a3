"""Signals one feature sends for others to act on, so the sender need not import them.

Receivers run inside the sender's transaction: what they write commits or rolls back with it.
"""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: Sent by ``ledger.operations.reverse`` after a reversal is written, with the original
#: transaction as the sender and ``reversal``, ``actor`` and ``reason`` as keyword arguments.
#: Posts listens to mark the service record whose deposit was reversed as withdrawn, whichever
#: page the reversal was made from.
ledger_reversed = _signals.signal("ledger-reversed")

#: Sent by ``ledger.verification.verify`` inside its read snapshot, with the snapshot's connection
#: as the sender and ``problem`` (a callable ``problem(code, message, transaction_id=None,
#: account_id=None)``) as a keyword argument. Features that keep figures derived from the ledger
#: (service records, recognition totals) check them against it and report through ``problem``,
#: so verify covers them without the ledger importing those features.
ledger_verifying = _signals.signal("ledger-verifying")

#: Sent by ``accounts.operations.revoke_credentials`` (password change, "log out everywhere")
#: with the user as the sender and ``actor`` as a keyword argument, after the user's session
#: version was bumped. The API listens to revoke every bearer token of the user.
credentials_revoked = _signals.signal("credentials-revoked")

#: Sent by ``posts.operations.claim`` (and the waiting list's promotion) after claims were
#: written, with the post as the sender and ``claims`` (the new Claim rows) and ``promoted``
#: (True when the waiting list gave the place) as keyword arguments. Operations counts them.
post_claimed = _signals.signal("post-claimed")

#: Sent by ``ledger.operations.deposit`` / ``deposit_many`` for the deposits they wrote (not for
#: a source deposited before), with None as the sender and ``count`` and ``minutes`` as keyword
#: arguments. Operations counts them.
hours_deposited = _signals.signal("hours-deposited")

#: Sent by ``inbox.operations.send`` after a new message is flushed (not when a ``dedup_key``
#: returns an earlier one), with the message as the sender. ``notify`` listens to queue its
#: deliveries (e-mail, 企业微信, SMS ...) in the same transaction, so a message that rolls back
#: is never delivered.
message_created = _signals.signal("message-created")

#: Sent by ``members.operations`` when a member record is created (online registration, an
#: application, staff adding an approved member, or an imported account being taken over), with
#: the member as the sender, after it is flushed. The units feature listens to join the member
#: to the roster row (花名册) that names their ID number or phone, so a person on a roster who
#: registers later is not counted twice.
member_created = _signals.signal("member-created")

#: Sent by ``members.imports`` after a bulk import wrote members (new ones, or existing ones whose
#: ID number was recorded for the first time), with None as the sender and ``member_ids`` as a
#: keyword argument: :data:`member_created` for set-based writes, so the units feature links
#: roster rows in bulk too.
members_imported = _signals.signal("members-imported")
