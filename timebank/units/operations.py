"""Every write of the units feature: roster links and reminders, co-building agreements (create,
commitments, both signatures, fulfilment, the year-end review). Operations flush; the request,
command or job commits."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update

from timebank.accounts.models import User
from timebank.audit import operations as audit
from timebank.core import clock, signals
from timebank.core.errors import Conflict, Forbidden, Invalid
from timebank.core.validators import clean_text
from timebank.extensions import db
from timebank.inbox import operations as inbox
from timebank.inbox.models import Message
from timebank.lists.models import Project
from timebank.members import operations as members_ops
from timebank.members.models import Member
from timebank.orgs.models import OrgKind, OrgNode
from timebank.posts.models import Post
from timebank.units.models import (Agreement, AgreementStatus, Commitment, CommitmentKind,
                                   Fulfilment, RosterEntry)
from timebank.units.roster import import_rows  # noqa: F401  (the roster import is a write too)

APPLICATION_PAGE = "/members/me/application"


class NotDraft(Conflict):
    code = "agreement_signed"
    default_message = _l("The agreement has been signed; its commitments can no longer change.")


class NotActive(Conflict):
    code = "agreement_not_active"
    default_message = _l("Only an agreement in force (signed by both sides) can record "
                         "fulfilment or be reviewed.")


class AlreadySigned(Conflict):
    code = "already_signed"
    default_message = _l("This side has already signed.")


# --- roster --------------------------------------------------------------------------------------


def link_roster(member: Member) -> int:
    """Join ``member`` to the roster rows (one per unit) that name their ID number, or their
    phone where the row has no other ID number. Returns how many rows were linked."""
    phone = member.user.phone if member.user is not None else None
    keys = []
    if member.id_number_hmac:
        keys.append(RosterEntry.id_number_hmac == member.id_number_hmac)
    if phone:
        keys.append((RosterEntry.phone == phone) & (
            RosterEntry.id_number_hmac.is_(None)
            | (RosterEntry.id_number_hmac == member.id_number_hmac)))
    if not keys:
        return 0
    linked_units = set(db.session.execute(
        select(RosterEntry.unit_id).where(RosterEntry.member_id == member.id)).scalars())
    linked = 0
    for entry in db.session.execute(select(RosterEntry).where(
            RosterEntry.member_id.is_(None), or_(*keys)).order_by(RosterEntry.id)).scalars():
        if entry.unit_id in linked_units:
            continue
        entry.member_id = member.id
        entry.updated_at = clock.now()
        linked_units.add(entry.unit_id)
        linked += 1
    if linked:
        db.session.flush()
    return linked


@signals.member_created.connect
def _on_member_created(member, **_kw) -> None:
    link_roster(member)


def link_roster_many(member_ids: list[int]) -> int:
    """:func:`link_roster` for members written in bulk (the member import), in chunks."""
    linked = 0
    for start in range(0, len(member_ids), 900):
        chunk = member_ids[start:start + 900]
        people = db.session.execute(
            select(Member.id, Member.id_number_hmac, User.phone)
            .join(User, User.id == Member.user_id).where(Member.id.in_(chunk))).all()
        by_hmac = {h: mid for mid, h, _phone in people if h}
        by_phone = {phone: (mid, h) for mid, h, phone in people if phone}
        taken = set(db.session.execute(select(RosterEntry.unit_id, RosterEntry.member_id)
                                       .where(RosterEntry.member_id.in_(chunk))).tuples())
        keys = []
        if by_hmac:
            keys.append(RosterEntry.id_number_hmac.in_(list(by_hmac)))
        if by_phone:
            keys.append(RosterEntry.phone.in_(list(by_phone)))
        if not keys:
            continue
        for entry in db.session.execute(select(RosterEntry).where(
                RosterEntry.member_id.is_(None), or_(*keys)).order_by(RosterEntry.id)).scalars():
            mid = by_hmac.get(entry.id_number_hmac)
            if mid is None and entry.phone in by_phone:
                pmid, phmac = by_phone[entry.phone]
                if entry.id_number_hmac is None or entry.id_number_hmac == phmac:
                    mid = pmid
            if mid is None or (entry.unit_id, mid) in taken:
                continue
            entry.member_id = mid
            entry.updated_at = clock.now()
            taken.add((entry.unit_id, mid))
            linked += 1
    if linked:
        db.session.flush()
    return linked


@signals.members_imported.connect
def _on_members_imported(_sender, member_ids=(), **_kw) -> None:
    link_roster_many(list(member_ids))


def remind_unregistered(actor, unit: OrgNode, entries: list[RosterEntry]) -> int:
    """In-app reminders to people on the roster who have an account but no member record yet
    (at most one per person per day). The others get the printed list. Returns how many were
    new."""
    if actor is not None and not members_ops.can_liaise(actor, unit):
        raise Forbidden()
    day = clock.today().isoformat()
    phones = {e.phone: e for e in entries
              if e.unit_id == unit.id and e.member_id is None and e.phone}
    if not phones:
        return 0
    users = db.session.execute(select(User).where(User.phone.in_(list(phones)))).scalars().all()
    sent = 0
    for user in users:
        has_member = db.session.execute(
            select(Member.id).where(Member.user_id == user.id)).first()
        if has_member:
            continue
        key = f"units.roster_remind:{unit.id}:{user.id}:{day}"
        if db.session.execute(select(Message.id).where(Message.dedup_key == key)).first():
            continue
        inbox.send(user, _("Reminder from %(unit)s: report to your community", unit=unit.name),
                   _("You are on the party roster of %(unit)s. Please report to the community "
                     "where you live.", unit=unit.name),
                   link=APPLICATION_PAGE, dedup_key=key)
        sent += 1
    if sent:
        audit.record(actor, "unit.roster_remind", "org", unit.id, sent=sent)
    return sent


# --- agreements ----------------------------------------------------------------------------------


def _clean(value: str | None, field: str, limit: int, required: bool = False) -> str:
    value = clean_text(value)
    if required and not value:
        raise Invalid(_l("Required."), field=field)
    if len(value) > limit:
        raise Invalid(_l("At most %(n)d characters.", n=limit), field=field)
    return value


def _check_period(starts_on: dt.date | None, ends_on: dt.date | None) -> None:
    if starts_on is None:
        raise Invalid(_l("Required."), field="starts_on")
    if ends_on is None:
        raise Invalid(_l("Required."), field="ends_on")
    if ends_on < starts_on:
        raise Invalid(_l("The end date is before the start date."), field="ends_on")
    if (ends_on - starts_on).days > 3 * 366:
        raise Invalid(_l("An agreement runs for at most three years."), field="ends_on")


def create_agreement(actor, unit: OrgNode, org: OrgNode | None, title: str,
                     starts_on: dt.date | None, ends_on: dt.date | None) -> Agreement:
    """Either side drafts the agreement: the unit's liaison, or staff of the community/street."""
    if unit is None or unit.kind != OrgKind.UNIT or not unit.active:
        raise Invalid(_l("Choose a unit."), field="unit_id")
    if org is None or org.kind not in (OrgKind.COMMUNITY, OrgKind.STREET) or not org.active:
        raise Invalid(_l("Choose a street or community."), field="org_id")
    title = _clean(title, "title", 100, required=True)
    _check_period(starts_on, ends_on)
    draft = Agreement(unit=unit, unit_id=unit.id, org=org, org_id=org.id, title=title,
                      starts_on=starts_on, ends_on=ends_on, status=AgreementStatus.DRAFT.value,
                      created_by_id=actor.id if actor else None, created_at=clock.now())
    if actor is not None and not draft.can_view(actor):
        raise Forbidden()
    db.session.add(draft)
    db.session.flush()
    audit.record(actor, "unit.agreement_create", "unit_agreement", draft.id, unit=unit.code,
                 org=org.code)
    return draft


def _locked(agreement: Agreement) -> Agreement:
    """The agreement re-read under a row lock (PostgreSQL), so a signature and a change to the
    commitments cannot cross."""
    db.session.execute(select(Agreement.id).where(Agreement.id == agreement.id).with_for_update())
    db.session.refresh(agreement)
    return agreement


def _check_party(actor, agreement: Agreement) -> None:
    if actor is not None and not agreement.can_view(actor):
        raise Forbidden()


def parse_amount(kind: CommitmentKind | str, text: str | None, field: str = "amount") -> int:
    """What a person types -> the stored integer: hours (one decimal) -> minutes, yuan and
    counts as whole numbers."""
    kind = CommitmentKind(kind)
    # Full-width digits to half-width; thousands separators dropped (a minus sign is kept, and
    # refused below).
    raw = re.sub(r"[\s,]", "", unicodedata.normalize("NFKC", text or ""))
    try:
        if kind == CommitmentKind.HOURS:
            if not re.fullmatch(r"[0-9]{1,7}(\.[0-9])?", raw):
                raise ValueError
            value = int(Decimal(raw) * 60)
        else:
            if not re.fullmatch(r"[0-9]{1,9}", raw):
                raise ValueError
            value = int(raw)
    except ValueError:
        raise Invalid(_l("Hours with at most one decimal, e.g. 12.5.") if kind == CommitmentKind.HOURS
                      else _l("A whole number."), field=field) from None
    if value <= 0 or value > 10**9:
        raise Invalid(_l("A positive amount."), field=field)
    return value


def add_commitment(actor, agreement: Agreement, kind: str, description: str,
                   target: int) -> Commitment:
    _check_party(actor, agreement)
    if kind not in CommitmentKind.__members__.values():
        raise Invalid(_l("Choose a kind of commitment."), field="kind")
    description = _clean(description, "description", 200, required=True)
    if not isinstance(target, int) or target <= 0:
        raise Invalid(_l("A positive amount."), field="target")
    agreement = _locked(agreement)
    if agreement.status != AgreementStatus.DRAFT or agreement.any_signed:
        raise NotDraft()
    item = Commitment(agreement=agreement, agreement_id=agreement.id, kind=kind,
                      description=description, target=target, position=len(agreement.items))
    db.session.add(item)
    db.session.flush()
    audit.record(actor, "unit.agreement_item_add", "unit_agreement", agreement.id, kind=kind,
                 target=target)
    return item


def remove_commitment(actor, item: Commitment) -> None:
    agreement = item.agreement
    _check_party(actor, agreement)
    agreement = _locked(agreement)
    if agreement.status != AgreementStatus.DRAFT or agreement.any_signed:
        raise NotDraft()
    audit.record(actor, "unit.agreement_item_remove", "unit_agreement", agreement.id,
                 kind=item.kind, target=item.target)
    db.session.delete(item)
    db.session.flush()


def sign(actor, agreement: Agreement) -> Agreement:
    """The actor signs for their side (the liaison for the unit, staff for the community or
    street). The agreement is in force once both have signed."""
    if actor is None:
        raise Forbidden()
    for_unit, for_org = agreement.signs_for_unit(actor), agreement.signs_for_org(actor)
    if not (for_unit or for_org):
        raise Forbidden()
    if agreement.status != AgreementStatus.DRAFT:
        raise AlreadySigned()
    if not agreement.items:
        raise Invalid(_l("Add at least one commitment before signing."), field="items")
    now = clock.now()
    # Conditional updates: two people pressing "sign" at once sign once.
    if for_unit and agreement.unit_signed_at is None:
        side, values = "unit", {"unit_signed_by_id": actor.id, "unit_signed_at": now}
        cond = Agreement.unit_signed_at.is_(None)
    elif for_org and agreement.org_signed_at is None:
        side, values = "org", {"org_signed_by_id": actor.id, "org_signed_at": now}
        cond = Agreement.org_signed_at.is_(None)
    else:
        raise AlreadySigned()
    done = db.session.execute(update(Agreement).where(
        Agreement.id == agreement.id, Agreement.status == AgreementStatus.DRAFT.value, cond)
        .values(**values).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        db.session.refresh(agreement)
        raise AlreadySigned()
    db.session.execute(update(Agreement).where(
        Agreement.id == agreement.id, Agreement.status == AgreementStatus.DRAFT.value,
        Agreement.unit_signed_at.is_not(None), Agreement.org_signed_at.is_not(None))
        .values(status=AgreementStatus.ACTIVE.value).execution_options(synchronize_session=False))
    db.session.flush()
    db.session.refresh(agreement)
    audit.record(actor, "unit.agreement_sign", "unit_agreement", agreement.id, side=side,
                 status=agreement.status)
    other = (org_signers(agreement) if side == "unit" else unit_signers(agreement))
    subject = (_("%(org)s and %(unit)s: the co-building agreement is in force",
                 org=agreement.org.name, unit=agreement.unit.name)
               if agreement.status == AgreementStatus.ACTIVE else
               _("%(name)s signed the co-building agreement \u201c%(title)s\u201d; it needs your "
                 "signature", name=actor.name, title=agreement.title))
    for user in other:
        inbox.send(user, subject, "", link=f"/units/agreements/{agreement.id}",
                   dedup_key=f"units.agreement_sign:{agreement.id}:{side}:{user.id}")
    return agreement


def unit_signers(agreement: Agreement) -> list[User]:
    """Who signs for the unit: its liaisons."""
    from timebank.members import queries as members_queries

    return members_queries.unit_liaisons([agreement.unit_id]).get(agreement.unit_id, [])


def org_signers(agreement: Agreement) -> list[User]:
    """Who is asked to sign for the other party: the community's staff or the street's admins."""
    from timebank.members import queries as members_queries

    if agreement.org.kind == OrgKind.COMMUNITY:
        return members_queries.community_staff(agreement.org_id)
    from timebank.accounts.models import Role, RoleAssignment

    return list(db.session.execute(select(User).join(RoleAssignment, RoleAssignment.user_id == User.id)
                                   .where(RoleAssignment.role == Role.STREET_ADMIN.value,
                                          RoleAssignment.org_id == agreement.org_id)).scalars())


def record_fulfilment(actor, item: Commitment, amount: int, on_date: dt.date | None,
                      note: str = "", evidence: str = "", post_id: int | None = None,
                      project_id: int | None = None) -> Fulfilment:
    """Staff of the community or street record what the unit did against a commitment."""
    agreement = item.agreement
    if actor is not None and not agreement.signs_for_org(actor):
        raise Forbidden()
    if agreement.status != AgreementStatus.ACTIVE:
        raise NotActive()
    if not isinstance(amount, int) or amount <= 0:
        raise Invalid(_l("A positive amount."), field="amount")
    if on_date is None:
        raise Invalid(_l("Required."), field="on_date")
    if on_date > clock.today():
        raise Invalid(_l("The date is in the future."), field="on_date")
    note = _clean(note, "note", 1000)
    evidence = _clean(evidence, "evidence", 300)
    # A linked post or project must be the other party's own: a guessed id from another
    # community is refused as if it did not exist.
    if post_id is not None:
        post = db.session.get(Post, post_id)
        if post is None or not _within(post.community_id, agreement.org):
            raise Invalid(_l("No such post in this community or street."), field="post_id")
    if project_id is not None:
        project = db.session.get(Project, project_id)
        if project is None or not _within(project.community_id, agreement.org):
            raise Invalid(_l("No such project in this community or street."), field="project_id")
    row = Fulfilment(item=item, item_id=item.id, amount=amount, on_date=on_date, note=note,
                     evidence=evidence, post_id=post_id, project_id=project_id,
                     recorded_by_id=actor.id if actor else None, recorded_at=clock.now())
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "unit.agreement_fulfil", "unit_agreement", agreement.id, item=item.id,
                 amount=amount)
    return row


def _within(community_id: int, org: OrgNode) -> bool:
    community = db.session.get(OrgNode, community_id)
    return community is not None and community.is_within(org)


def close_with_review(actor, agreement: Agreement, review: str) -> Agreement:
    """The year-end review by the community or street closes the agreement."""
    if actor is not None and not agreement.signs_for_org(actor):
        raise Forbidden()
    review = _clean(review, "review", 4000, required=True)
    done = db.session.execute(update(Agreement).where(
        Agreement.id == agreement.id, Agreement.status == AgreementStatus.ACTIVE.value)
        .values(status=AgreementStatus.CLOSED.value, review=review,
                reviewed_by_id=actor.id if actor else None, reviewed_at=clock.now())
        .execution_options(synchronize_session=False))
    db.session.refresh(agreement)
    if done.rowcount != 1:
        raise NotActive()
    audit.record(actor, "unit.agreement_review", "unit_agreement", agreement.id)
    return agreement
