"""Accounts and roles: every write takes the acting user; None means the system (CLI)."""
from __future__ import annotations

import functools

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from timebank.accounts import passwords
from timebank.accounts.models import Role, RoleAssignment, User
from timebank.audit import operations as audit
from timebank.core import clock, signals
from timebank.core.errors import Forbidden, Invalid
from timebank.core.validators import clean_text, is_cn_mobile, normalize_phone
from timebank.extensions import db
from timebank.orgs.models import OrgNode


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the phone is unknown, so both failures cost the same time. Made on
    first use: scrypt at import would slow every process start, CLI commands included."""
    return generate_password_hash("timing-equaliser")


def clean_phone(phone: str) -> str:
    phone = normalize_phone(phone)
    if not is_cn_mobile(phone):
        raise Invalid(_l("Enter a valid mainland China mobile number (11 digits)."), field="phone")
    return phone


def check_password_strength(password: str, phone: str | None = None) -> None:
    passwords.check(password, phone)


def find_by_phone(phone: str) -> User | None:
    return db.session.execute(
        select(User).where(User.phone == normalize_phone(phone))
    ).scalar_one_or_none()


def create_user(actor, phone: str, name: str, password: str | None = None,
                password_hash: str | None = None) -> User:
    phone = clean_phone(phone)
    name = clean_text(name)
    if not name or len(name) > 50:
        raise Invalid(_l("A name of 1-50 characters is required."), field="name")
    if find_by_phone(phone) is not None:
        raise Invalid(_l("This phone number is already registered."), field="phone")
    if password is not None:
        check_password_strength(password, phone)
        password_hash = generate_password_hash(password)
    user = User(phone=phone, name=name, password_hash=password_hash, active=True,
                created_at=clock.now())
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "user.create", "user", user.id)
    return user


def set_password(actor, user: User, password: str) -> None:
    """Change the password; every session and API token of the user ends with it."""
    if actor is not None and actor.id != user.id:
        raise Forbidden()
    check_password_strength(password, user.phone)
    user.password_hash = generate_password_hash(password)
    db.session.flush()
    audit.record(actor, "user.password", "user", user.id)
    revoke_credentials(actor, user)


def end_sessions(user: User) -> None:
    """Every browser session of ``user`` stops working: the session version is part of the
    session id (``User.get_id``) and checked on each request. Sessions live in signed cookies,
    so a copy saved before this would otherwise keep working."""
    # Incremented in SQL, so two changes at once both count; reloaded when next read.
    user.session_version = User.session_version + 1
    db.session.flush()


def revoke_credentials(actor, user: User) -> None:
    """End every browser session and revoke every API token of ``user`` ("log out everywhere",
    and after a password change)."""
    end_sessions(user)
    audit.record(actor, "user.revoke_credentials", "user", user.id)
    signals.credentials_revoked.send(user, actor=actor)


def authenticate(phone: str, password: str) -> User | None:
    """The user if the phone and password match an active account, else None (one answer for
    every failure, so the login form does not reveal which phones are registered)."""
    user = find_by_phone(phone) if is_cn_mobile(normalize_phone(phone)) else None
    if user is None or not user.password_hash:
        check_password_hash(_dummy_hash(), password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.active:
        return None
    return user


def assign_role(actor, user: User, role: Role | str, org: OrgNode) -> RoleAssignment:
    role = Role(role)
    if org.kind != role.node_kind:
        raise Invalid(
            _l("The role %(role)s is held on a %(kind)s.", role=role.label,
               kind=role.node_kind.label),
            field="role",
        )
    if actor is not None and not actor.can_assign(role, org):
        raise Forbidden()
    if not org.active:
        raise Invalid(_l("Cannot assign a role on a deactivated organisation."), field="org")
    existing = db.session.execute(
        select(RoleAssignment).where(
            RoleAssignment.user_id == user.id,
            RoleAssignment.role == role.value,
            RoleAssignment.org_id == org.id,
        )
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    ra = RoleAssignment(user=user, role=role.value, org=org, created_at=clock.now(),
                        created_by_id=actor.id if actor is not None else None)
    db.session.add(ra)
    db.session.flush()
    end_sessions(user)  # what a session may do changed: it logs in again
    audit.record(actor, "role.assign", "user", user.id, role=role.value, org=org.code)
    return ra


def revoke_role(actor, assignment: RoleAssignment) -> None:
    role = assignment.role_enum
    if actor is not None:
        if not actor.can_assign(role, assignment.org):
            raise Forbidden()
        if assignment.user_id == actor.id and role in (Role.DISTRICT_ADMIN, Role.STREET_ADMIN):
            # Guard against locking oneself (and possibly everyone) out of the tree.
            raise Invalid(_l("You cannot remove your own administrator role."))
    user = assignment.user
    user.roles.remove(assignment)
    db.session.flush()
    end_sessions(user)
    audit.record(actor, "role.revoke", "user", user.id, role=role.value, org=assignment.org.code)


def record_login(user: User) -> None:
    user.last_login_at = clock.now()
    db.session.flush()


#: Roles whose grant is more than a role row, keyed by role: ``f(actor, user, org)``. A member
#: needs a member record, so the members package registers ``Role.MEMBER`` here when it is
#: imported; the orgs page grants every role through :func:`grant_role` without knowing that.
ROLE_GRANTERS: dict = {}


def grant_role(actor, user: User, role: Role | str, org: OrgNode):
    """Give ``user`` the role at ``org`` the way the role's owner wants it given."""
    granter = ROLE_GRANTERS.get(Role(role))
    if granter is not None:
        return granter(actor, user, org)
    return assign_role(actor, user, role, org)
