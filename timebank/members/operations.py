"""Writes on members; every function takes the acting user (None = the system).

Reporting (报到): a person registers online (:func:`register`) or an existing account applies
(:func:`apply`); the record is pending until staff of the community approve (:func:`approve`,
which grants the ``member`` role) or reject it with a reason (:func:`reject`). A rejected member
corrects and resubmits (:func:`resubmit`), which makes it pending again.
"""
from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from werkzeug.security import generate_password_hash

from timebank.accounts import operations as accounts
from timebank.accounts.models import Role, RoleAssignment, User
from timebank.audit import operations as audit
from timebank.core import clock, signals
from timebank.core.errors import Conflict, Forbidden, Invalid
from timebank.core.validators import clean_text
from timebank.extensions import db
from timebank.inbox import operations as inbox
from timebank.members import identity
from timebank.members.models import (Member, MemberProfile, MemberStatus, ProfileSource, Skill,
                                     UnitReport, availability_to_mask)
from timebank.orgs.models import OrgKind, OrgNode

MAX_TEXT = 500
MAX_REASON = 500
MAX_SESSIONS = 31
MY_PAGE = "/members/me"


class IdNumberTaken(Invalid):
    code = "id_number_taken"


class NotPending(Conflict):
    code = "not_pending"
    default_message = _l("This application has already been reviewed.")


class NotApproved(Conflict):
    code = "not_approved"
    default_message = _l("Only approved members can do this.")


# --- shared checks -----------------------------------------------------------------------------


def clean_name(name: str | None) -> str:
    name = clean_text(name)
    if not name or len(name) > 50:
        raise Invalid(_l("Enter a name of 1-50 characters."), field="name")
    return name


def check_residence(community: OrgNode | None, grid: OrgNode | None) -> None:
    if community is None or community.kind != OrgKind.COMMUNITY or not community.active:
        raise Invalid(_l("Choose the community you live in."), field="community_id")
    if grid is None:
        has_grids = db.session.execute(
            select(OrgNode.id).where(OrgNode.parent_id == community.id,
                                     OrgNode.kind == OrgKind.GRID.value,
                                     OrgNode.active.is_(True)).limit(1)
        ).first()
        if has_grids:
            raise Invalid(_l("Choose your grid."), field="grid_id")
    elif grid.kind != OrgKind.GRID or grid.parent_id != community.id or not grid.active:
        raise Invalid(_l("The grid is not in this community."), field="grid_id")


def check_unit(unit: OrgNode | None) -> None:
    if unit is not None and (unit.kind != OrgKind.UNIT or not unit.active):
        raise Invalid(_l("Choose a unit from the list."), field="unit_id")


def _id_number_holder(hmac: str) -> Member | None:
    return db.session.execute(
        select(Member).where(Member.id_number_hmac == hmac)
    ).scalar_one_or_none()


def _set_id_number(member: Member, number: str) -> None:
    hmac = identity.id_number_hmac(number)
    holder = _id_number_holder(hmac)
    if holder is not None and holder.id != member.id:
        raise IdNumberTaken(_l("This ID card number is already registered. If it is yours, "
                               "contact your community."), field="id_number")
    if member.id_number_hmac != hmac:
        member.id_number_hmac = hmac
        member.id_number_ciphertext = identity.encrypt_id_number(number)


def refresh_search_keys(member: Member, user: User) -> None:
    member.name_initials = identity.name_initials(user.name)
    member.phone_tail = identity.phone_tail(user.phone)


def _staff_of(community: OrgNode) -> list[User]:
    return list(db.session.execute(
        select(User).join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.org_id == community.id,
               RoleAssignment.role == Role.COMMUNITY_STAFF.value, User.active.is_(True))
    ).scalars())


def _tell_staff_pending(member: Member) -> None:
    """One message per staff member per day, however many people apply."""
    day = clock.today().isoformat()
    for staff in _staff_of(member.community):
        inbox.send(staff, _("New member registrations are waiting for review"),
                   _("Members have registered with %(community)s and wait for your review.",
                     community=member.community.name),
                   link=f"/members/?status=pending&community={member.community_id}",
                   dedup_key=f"members.pending:{member.community_id}:{staff.id}:{day}")


# --- reporting ---------------------------------------------------------------------------------


def create_approved_member(actor, user: User, community: OrgNode, grid: OrgNode | None = None,
                           unit: OrgNode | None = None, id_number: str | None = None) -> Member:
    """A member created by staff or the CLI: no review needed."""
    if community.kind != OrgKind.COMMUNITY:
        raise Invalid(_l("A member belongs to a community."), field="org")
    if grid is not None and grid.parent_id != community.id:
        raise Invalid(_l("The grid is not in this community."), field="grid")
    if unit is not None and unit.kind != OrgKind.UNIT:
        raise Invalid(_l("Choose a unit from the list."), field="unit")
    if actor is not None and not community.can_manage(actor):
        raise Forbidden()
    now = clock.now()
    member = Member(user=user, user_id=user.id, community=community, community_id=community.id,
                    grid=grid, unit=unit, status=MemberStatus.APPROVED.value,
                    reviewed_by_id=actor.id if actor else None, reviewed_at=now,
                    created_at=now, applied_at=now, profile_version=0)
    refresh_search_keys(member, user)
    if id_number is not None:
        _set_id_number(member, identity.clean_id_number(id_number))
    db.session.add(member)
    db.session.flush()
    accounts.assign_role(actor, user, Role.MEMBER, community)
    signals.member_created.send(member)
    return member


accounts.ROLE_GRANTERS[Role.MEMBER] = create_approved_member


def register(phone: str, name: str, id_number: str, password: str, community: OrgNode | None,
             grid: OrgNode | None, unit: OrgNode | None) -> Member | None:
    """Online registration by a new person: a new account and a pending member.

    An account that staff imported (no password yet) is taken over instead when the ID number
    and name match, so imported members can start using the site.

    When the phone or the ID number is already held, nothing is created and the holder is told
    in their inbox; the result is None. The caller answers the same as for a new registration:
    registration must not tell anyone whether a phone or an ID number (party membership) is on
    record.
    """
    phone = accounts.clean_phone(phone)
    name = clean_name(name)
    number = identity.clean_id_number(id_number)
    accounts.check_password_strength(password, phone)
    check_residence(community, grid)
    check_unit(unit)
    # Hashed before looking anything up, so a taken phone costs the same time as a new one.
    return _register(phone, name, number, generate_password_hash(password), community, grid,
                     unit)


def register_with_hash(phone: str, name: str, id_number: str, password_hash: str,
                       community: OrgNode | None, grid: OrgNode | None,
                       unit: OrgNode | None) -> Member | None:
    """:func:`register` for demo seeding: takes a ready password hash and so skips the password
    rules on purpose (the demo accounts share a public password nobody may choose)."""
    phone = accounts.clean_phone(phone)
    check_residence(community, grid)
    check_unit(unit)
    return _register(phone, clean_name(name), identity.clean_id_number(id_number),
                     password_hash, community, grid, unit)


def _register(phone, name, number, password_hash, community, grid, unit) -> Member | None:
    existing = accounts.find_by_phone(phone)
    if existing is not None:
        member = _claim_imported_account(existing, name, number, password_hash)
        if member is not None:
            return member
    holder = _id_number_holder(identity.id_number_hmac(number))
    if existing is not None or holder is not None:
        _tell_registration_attempt(existing, holder)
        return None
    user = accounts.create_user(None, phone, name, password_hash=password_hash)
    return _new_application(user, user, number, community, grid, unit)


def _tell_registration_attempt(phone_owner: User | None, holder: Member | None) -> None:
    """Tell the owners of a phone or an ID number that someone registered with it (at most one
    message a day each, however often it is tried)."""
    day = clock.today().isoformat()
    if phone_owner is not None:
        inbox.send(phone_owner, _("Someone tried to register with your mobile number"),
                   _("A registration was submitted with your mobile number. No new account was "
                     "created. If it was you, log in with your password instead (staff can help "
                     "if you forgot it). If it was not you, you can ignore this message."),
                   link=MY_PAGE, dedup_key=f"members.register_attempt:phone:{phone_owner.id}:{day}")
    if holder is not None and (phone_owner is None or holder.user_id != phone_owner.id):
        inbox.send(holder.user_id, _("Someone tried to register with your ID card number"),
                   _("A registration was submitted with your ID card number (%(number)s) and "
                     "another mobile number. No account was created. If it was not you, tell "
                     "your community staff.", number=holder.masked_id_number),
                   link=MY_PAGE, dedup_key=f"members.register_attempt:id:{holder.user_id}:{day}")


def apply(actor: User, id_number: str, name: str, community: OrgNode | None,
          grid: OrgNode | None, unit: OrgNode | None) -> Member:
    """A logged-in person without a member record (e.g. a staff member who is also a party
    member) reports to the community they live in."""
    if db.session.execute(select(Member.id).where(Member.user_id == actor.id)).first():
        raise Conflict(_l("You have already reported to a community."))
    number = identity.clean_id_number(id_number)
    actor.name = clean_name(name)
    check_residence(community, grid)
    check_unit(unit)
    return _new_application(actor, actor, number, community, grid, unit)


def _new_application(actor, user, number, community, grid, unit) -> Member:
    now = clock.now()
    member = Member(user=user, user_id=user.id, community=community, community_id=community.id,
                    grid=grid, grid_id=grid.id if grid else None, unit=unit,
                    unit_id=unit.id if unit else None, status=MemberStatus.PENDING.value,
                    created_at=now, applied_at=now, profile_version=0)
    refresh_search_keys(member, user)
    _set_id_number(member, number)
    db.session.add(member)
    db.session.flush()
    audit.record(actor, "member.register", "member", member.id, community=community.code)
    _tell_staff_pending(member)
    signals.member_created.send(member)
    return member


def _claim_imported_account(user: User, name: str, number: str,
                            password_hash: str) -> Member | None:
    """Take over an imported account (no password yet) whose ID number and name match; None
    when this account cannot be taken over."""
    member = db.session.execute(select(Member).where(Member.user_id == user.id)).scalar_one_or_none()
    if (user.password_hash is not None or member is None
            or member.id_number_hmac != identity.id_number_hmac(number) or user.name != name):
        return None
    user.password_hash = password_hash
    db.session.flush()
    audit.record(user, "member.claim_account", "member", member.id)
    signals.member_created.send(member)  # imported in bulk, so not yet on a roster row
    return member


def resubmit(actor: User, member: Member, name: str, id_number: str, community: OrgNode | None,
             grid: OrgNode | None, unit: OrgNode | None) -> None:
    """The member corrects a pending or rejected application; it goes (back) to review."""
    if actor.id != member.user_id:
        raise Forbidden()
    if member.status not in (MemberStatus.PENDING, MemberStatus.REJECTED):
        raise Conflict(_l("Only pending or rejected applications can be changed."))
    number = identity.clean_id_number(id_number)
    member.user.name = clean_name(name)
    check_residence(community, grid)
    check_unit(unit)
    _set_id_number(member, number)
    was = member.status
    member.community, member.grid, member.unit = community, grid, unit
    member.status = MemberStatus.PENDING.value
    member.reject_reason = None
    member.reviewed_by_id = None
    member.reviewed_at = None
    member.applied_at = clock.now()
    refresh_search_keys(member, member.user)
    db.session.flush()
    audit.record(actor, "member.resubmit", "member", member.id, previous=was,
                 community=community.code)
    _tell_staff_pending(member)


def _transition(member: Member, old: Iterable[str], **values) -> None:
    """Change the status only if it is still one of ``old`` (two staff reviewing the same
    application at once: the second one gets :class:`NotPending`)."""
    result = db.session.execute(
        update(Member).where(Member.id == member.id, Member.status.in_(list(old)))
        .values(**values).execution_options(synchronize_session="fetch")
    )
    if result.rowcount != 1:
        db.session.refresh(member)
        raise NotPending()


def approve(actor, member: Member) -> None:
    if actor is not None and not member.can_manage(actor):
        raise Forbidden()
    _transition(member, [MemberStatus.PENDING], status=MemberStatus.APPROVED.value,
                reject_reason=None, reviewed_by_id=actor.id if actor else None,
                reviewed_at=clock.now())
    accounts.assign_role(actor, member.user, Role.MEMBER, member.community)
    audit.record(actor, "member.approve", "member", member.id)
    inbox.send(member.user, _("Your registration has been approved"),
               _("Welcome to %(community)s. Please fill in your skills and service "
                 "willingness form.", community=member.community.name), link=MY_PAGE)


def reject(actor, member: Member, reason: str) -> None:
    if actor is not None and not member.can_manage(actor):
        raise Forbidden()
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_l("Give a reason so the applicant can correct the application."),
                      field="reason")
    if len(reason) > MAX_REASON:
        raise Invalid(_l("The reason is too long (at most %(n)d characters).", n=MAX_REASON),
                      field="reason")
    _transition(member, [MemberStatus.PENDING], status=MemberStatus.REJECTED.value,
                reject_reason=reason, reviewed_by_id=actor.id if actor else None,
                reviewed_at=clock.now())
    audit.record(actor, "member.reject", "member", member.id, reason=reason)
    inbox.send(member.user, _("Your registration was not approved"),
               _("Reason: %(reason)s\nYou can correct your application and submit it again.",
                 reason=reason), link=MY_PAGE)


def move_to_grid(actor, member: Member, grid: OrgNode | None) -> None:
    """Staff move a member to another grid of the same community."""
    if actor is not None and not member.can_manage(actor):
        raise Forbidden()
    if (grid is None or grid.kind != OrgKind.GRID or grid.parent_id != member.community_id
            or not grid.active):
        raise Invalid(_l("The grid is not in this community."), field="grid_id")
    if member.grid_id == grid.id:
        return
    old = member.grid.code if member.grid else None
    member.grid = grid
    db.session.flush()
    audit.record(actor, "member.move_grid", "member", member.id, old=old, new=grid.code)


def _member_role(member: Member) -> RoleAssignment | None:
    return db.session.execute(
        select(RoleAssignment).where(RoleAssignment.user_id == member.user_id,
                                     RoleAssignment.role == Role.MEMBER.value,
                                     RoleAssignment.org_id == member.community_id)
    ).scalar_one_or_none()


def deactivate(actor, member: Member) -> None:
    """The member stops serving here (moved away, left): status inactive, member role gone."""
    if actor is not None and not member.can_manage(actor):
        raise Forbidden()
    if member.status == MemberStatus.INACTIVE:
        return
    _transition(member, [MemberStatus.PENDING, MemberStatus.APPROVED, MemberStatus.REJECTED],
                status=MemberStatus.INACTIVE.value, reviewed_by_id=actor.id if actor else None,
                reviewed_at=clock.now())
    ra = _member_role(member)
    if ra is not None:
        accounts.revoke_role(actor, ra)
    audit.record(actor, "member.deactivate", "member", member.id)


def reactivate(actor, member: Member) -> None:
    if actor is not None and not member.can_manage(actor):
        raise Forbidden()
    _transition(member, [MemberStatus.INACTIVE], status=MemberStatus.APPROVED.value,
                reviewed_by_id=actor.id if actor else None, reviewed_at=clock.now())
    accounts.assign_role(actor, member.user, Role.MEMBER, member.community)
    audit.record(actor, "member.reactivate", "member", member.id)


# --- the registration form ---------------------------------------------------------------------


def _clean_text(value: str | None, field: str) -> str:
    value = (value or "").strip()
    if len(value) > MAX_TEXT:
        raise Invalid(_l("At most %(n)d characters.", n=MAX_TEXT), field=field)
    return value


def save_profile(actor, member: Member, *, skills: Iterable[Skill] = (),
                 free_text_skills: str = "", hobbies: str = "", categories=(), kinds=(),
                 availability: Iterable[tuple[int, str]] = (),
                 max_sessions_per_month: int | None = None,
                 source: ProfileSource | None = None) -> MemberProfile:
    """Store the form as a new version (or return the current one when nothing changed)."""
    is_self = actor is not None and actor.id == member.user_id
    if actor is not None and not is_self and not member.can_manage(actor):
        raise Forbidden()
    if is_self and not member.is_approved:
        raise NotApproved()
    if source is None:
        source = ProfileSource.MEMBER if is_self else ProfileSource.STAFF
    skills = sorted(set(skills), key=lambda s: s.id)
    if any(not s.active for s in skills):
        raise Invalid(_l("Choose skills from the list."), field="skills")
    categories = sorted(set(categories), key=lambda c: c.id)
    kinds = sorted(set(kinds), key=lambda k: k.id)
    if any(not k.active or k.community_id not in (None, member.community_id) for k in kinds):
        raise Invalid(_l("Choose post kinds from the list."), field="willing_kinds")
    free_text_skills = _clean_text(free_text_skills, "free_text_skills")
    hobbies = _clean_text(hobbies, "hobbies")
    try:
        mask = availability_to_mask(availability)
    except ValueError:
        raise Invalid(_l("Choose free times from the table."), field="availability") from None
    if max_sessions_per_month is not None and not 0 <= max_sessions_per_month <= MAX_SESSIONS:
        raise Invalid(_l("Between 0 and %(n)d sessions a month.", n=MAX_SESSIONS),
                      field="max_sessions_per_month")

    current = current_profile_row(member)
    if current is not None and (
        [s.id for s in current.skills] == [s.id for s in skills]
        and sorted(c.id for c in current.willing_categories) == [c.id for c in categories]
        and sorted(k.id for k in current.willing_kinds) == [k.id for k in kinds]
        and current.free_text_skills == free_text_skills and current.hobbies == hobbies
        and current.availability == mask
        and current.max_sessions_per_month == max_sessions_per_month
    ):
        return current
    version = member.profile_version + 1
    # Conditional bump: two saves of the same member at once cannot both become version n.
    result = db.session.execute(
        update(Member).where(Member.id == member.id,
                             Member.profile_version == member.profile_version)
        .values(profile_version=version).execution_options(synchronize_session="fetch")
    )
    if result.rowcount != 1:
        raise Conflict()
    profile = MemberProfile(member_id=member.id, version=version, created_at=clock.now(),
                            created_by_id=actor.id if actor else None, source=source.value,
                            free_text_skills=free_text_skills, hobbies=hobbies,
                            availability=mask, max_sessions_per_month=max_sessions_per_month)
    profile.skills = skills
    profile.willing_categories = categories
    profile.willing_kinds = kinds
    db.session.add(profile)
    db.session.flush()
    audit.record(actor, "member.profile", "member", member.id, version=version,
                 source=source.value)
    return profile


def current_profile_row(member: Member) -> MemberProfile | None:
    if not member.profile_version:
        return None
    return db.session.execute(
        select(MemberProfile).where(MemberProfile.member_id == member.id,
                                    MemberProfile.version == member.profile_version)
    ).scalar_one_or_none()


# --- skills vocabulary -------------------------------------------------------------------------


def _check_district_admin(actor) -> None:
    if actor is not None and not actor.has_role(Role.DISTRICT_ADMIN):
        raise Forbidden()


def _clean_skill_fields(name: str, name_en: str, skill: Skill | None = None) -> tuple[str, str]:
    name = (name or "").strip()
    if not name or len(name) > 50:
        raise Invalid(_l("A skill name of 1-50 characters is required."), field="name")
    clash = db.session.execute(select(Skill.id).where(Skill.name == name)).scalar_one_or_none()
    if clash is not None and (skill is None or clash != skill.id):
        raise Invalid(_l("This skill is already in the list."), field="name")
    name_en = (name_en or "").strip()
    if len(name_en) > 80:
        raise Invalid(_l("At most %(n)d characters.", n=80), field="name_en")
    return name, name_en


def create_skill(actor, name: str, name_en: str = "", code: str | None = None) -> Skill:
    _check_district_admin(actor)
    name, name_en = _clean_skill_fields(name, name_en)
    codes = set(db.session.execute(select(Skill.code)).scalars())
    if code:
        code = code.strip()
        if len(code) > 32 or not all(c.isalnum() or c in "-_" for c in code):
            raise Invalid(_l("A code is 1-32 letters, digits, '-' or '_'."), field="code")
        if code in codes:
            raise Invalid(_l("This code is already used."), field="code")
    else:
        n = len(codes) + 1
        while f"S{n:03d}" in codes:
            n += 1
        code = f"S{n:03d}"
    position = (db.session.execute(select(Skill.position).order_by(Skill.position.desc())
                                   .limit(1)).scalar() or 0) + 1
    skill = Skill(code=code, name=name, name_en=name_en, active=True, position=position)
    db.session.add(skill)
    db.session.flush()
    audit.record(actor, "skill.create", "skill", skill.id, code=code, name=name)
    return skill


def update_skill(actor, skill: Skill, name: str, name_en: str, active: bool) -> None:
    """Rename or retire a skill. Retired skills stay on old forms but cannot be chosen."""
    _check_district_admin(actor)
    skill.name, skill.name_en = _clean_skill_fields(name, name_en, skill)
    skill.active = bool(active)
    db.session.flush()
    audit.record(actor, "skill.update", "skill", skill.id, name=skill.name, active=skill.active)


# --- dual reporting (双报到) --------------------------------------------------------------------


def can_liaise(user, unit: OrgNode) -> bool:
    """The unit's liaison, or an admin whose scope holds the unit."""
    return user.is_authenticated and unit.kind == OrgKind.UNIT and (
        user.has_role(Role.UNIT_LIAISON, unit) or user.administers(unit))


def report_unit(actor, unit: OrgNode, org: OrgNode | None, note: str = "") -> UnitReport:
    """Register the unit with a street or community where its members live (idempotent)."""
    if actor is not None and not can_liaise(actor, unit):
        raise Forbidden()
    if org is None or org.kind not in (OrgKind.STREET, OrgKind.COMMUNITY) or not org.active:
        raise Invalid(_l("Choose a street or community."), field="org_id")
    note = _clean_text(note, "note")
    report = db.session.execute(
        select(UnitReport).where(UnitReport.unit_id == unit.id, UnitReport.org_id == org.id)
    ).scalar_one_or_none()
    if report is not None:
        if note and note != report.note:
            report.note = note
            db.session.flush()
        return report
    report = UnitReport(unit=unit, unit_id=unit.id, org=org, org_id=org.id, note=note,
                        reported_by_id=actor.id if actor else None, reported_at=clock.now())
    db.session.add(report)
    db.session.flush()
    audit.record(actor, "unit.report", "org", unit.id, to=org.code)
    targets = [org] if org.kind == OrgKind.COMMUNITY else []
    for community in targets:
        for staff in _staff_of(community):
            inbox.send(staff, _("%(unit)s has reported to your community", unit=unit.name),
                       note, link="/members/reported-units",
                       dedup_key=f"members.unit_report:{report.id}:{staff.id}")
    return report


def withdraw_unit_report(actor, report: UnitReport) -> None:
    if actor is not None and not can_liaise(actor, report.unit):
        raise Forbidden()
    audit.record(actor, "unit.withdraw_report", "org", report.unit_id, to=report.org.code)
    db.session.delete(report)
    db.session.flush()


def reminder_key(member_id: int, day) -> str:
    """The inbox dedup key of a day's reporting reminder: one reminder per member per day
    (the liaison's home reads it to show 今日已提醒)."""
    return f"members.remind:{member_id}:{day.isoformat()}"


def remind_unreported(actor, unit: OrgNode, members: Iterable[Member]) -> int:
    """In-app reminders to the unit's members who have not (fully) reported; at most one per
    member per day however often the liaison presses the button. Returns how many were new."""
    from timebank.inbox.models import Message
    from timebank.members.queries import needs_reminder

    if actor is not None and not can_liaise(actor, unit):
        raise Forbidden()
    day = clock.today()
    targets = {m.id: m for m in members if m.unit_id == unit.id and needs_reminder(m)}
    keys = {mid: reminder_key(mid, day) for mid in targets}
    already = set(db.session.execute(
        select(Message.dedup_key).where(Message.dedup_key.in_(list(keys.values())))
    ).scalars()) if keys else set()
    sent = 0
    for mid, member in targets.items():
        if keys[mid] in already:
            continue
        inbox.send(member.user, _("Reminder from %(unit)s: report to your community",
                                  unit=unit.name),
                   _("Please complete your reporting to the community where you live "
                     "(registration and the skills and service willingness form)."),
                   link=MY_PAGE, dedup_key=keys[mid])
        sent += 1
    if sent:
        audit.record(actor, "unit.remind", "org", unit.id, sent=sent)
    return sent
