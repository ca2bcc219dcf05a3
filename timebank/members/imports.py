"""Bulk import of completed registration forms (.xlsx or .csv) by community staff.

The file is read by :mod:`timebank.members.sheets`; the cells are parsed here.

Every row is validated and the errors are listed as (row, column, message). The staff member
chooses all-or-nothing or valid-rows-only. Rows are matched to existing members by ID number
(keyed hash) or phone, and a row that says what the database already holds changes nothing, so
importing the same file twice is a no-op.

New rows are written with set-based inserts (users, members, member roles, form versions) rather
than one ``accounts.create_user`` + ``assign_role`` per row: at 10,000 rows the per-row flushes
and audit rows would take most of a minute. The rows written are the same ones those operations
write; the import is audited once with its counts.
"""
from __future__ import annotations

import dataclasses

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from timebank.accounts.models import Role, RoleAssignment, User
from timebank.audit import operations as audit
from timebank.catalogue import queries as catalogue_queries
from timebank.core import clock, signals
from timebank.core.errors import Conflict, Invalid
from timebank.core.validators import clean_text, is_cn_mobile, normalize_phone
from timebank.extensions import db
from timebank.members import identity, queries
from timebank.members.availability import parse_availability, split_list
from timebank.members.queries import in_list
from timebank.members.sheets import COLUMNS
from timebank.members.models import (Member, MemberProfile, MemberStatus, ProfileSource,
                                     availability_to_mask, member_profile_categories,
                                     member_profile_kinds, member_profile_skills)
from timebank.orgs.models import OrgKind, OrgNode

_CHUNK = 900  # keys per IN list when looking rows up

@dataclasses.dataclass(frozen=True)
class RowError:
    row: int
    column: str  # header text, "" for the whole row
    message: str


@dataclasses.dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = dataclasses.field(default_factory=list)
    committed: bool = False
    all_or_nothing: bool = True

    @property
    def error_rows(self) -> int:
        return len({e.row for e in self.errors})


# --- validating and writing --------------------------------------------------------------------


@dataclasses.dataclass
class _Clean:
    row: int
    name: str
    phone: str
    id_number: str
    id_hmac: str
    unit_id: int | None
    grid_id: int | None
    has_form: bool
    skill_ids: frozenset[int]
    free_text_skills: str
    hobbies: str
    category_ids: frozenset[int]
    kind_ids: frozenset[int]
    availability: frozenset[tuple[int, str]]
    max_sessions: int | None
    member: _Existing | None = None  # matched existing member
    #: The account of a new member row: an existing one without a member record, or new.
    user_id: int | None = None


class _Lookups:
    """Everything a row is checked against, loaded once per import."""

    def __init__(self, community: OrgNode) -> None:
        units = queries.active_units()
        self.units = {u.name: u.id for u in units} | {u.code: u.id for u in units}
        grids = queries.grids_of([community.id])
        self.grids = {g.name: g.id for g in grids} | {g.code: g.id for g in grids}
        skills = queries.skills(active_only=True)
        self.skills = {s.name: s.id for s in skills} | {s.code: s.id for s in skills}
        self.categories = {c.name: c.id for c in catalogue_queries.categories()}
        self.kinds = {k.name: k.id for k in catalogue_queries.kinds_for([community.id])}


def _validate(row: int, cells: dict[str, str], lk: _Lookups,
              errors: list[RowError]) -> _Clean | None:
    before = len(errors)

    def err(key: str, message) -> None:
        header = next(c.header for c in COLUMNS if c.key == key) if key else ""
        errors.append(RowError(row, header, str(message)))

    def get(key: str) -> str:
        return (cells.get(key) or "").strip()

    name = clean_text(get("name"))
    if not name:
        err("name", _("Required."))
    elif len(name) > 50:
        err("name", _("At most %(n)d characters.", n=50))
    phone = normalize_phone(get("phone"))
    if not phone:
        err("phone", _("Required."))
    elif not is_cn_mobile(phone):
        err("phone", _("Not a valid mainland China mobile number (11 digits)."))
    id_number = ""
    try:
        id_number = identity.clean_id_number(get("id_number"))
    except Invalid as e:
        err("id_number", e.message)
    unit_id = grid_id = None
    if get("unit"):
        unit_id = lk.units.get(get("unit"))
        if unit_id is None:
            err("unit", _("Not a unit of this district: %(v)s", v=get("unit")))
    if get("grid"):
        grid_id = lk.grids.get(get("grid"))
        if grid_id is None:
            err("grid", _("Not a grid of this community: %(v)s", v=get("grid")))
    skill_ids = set()
    unknown = []
    for token in split_list(get("skills")):
        (skill_ids.add(lk.skills[token]) if token in lk.skills else unknown.append(token))
    if unknown:
        err("skills", _("Not in the skills list: %(v)s (put other skills in 其他特长)",
                        v="、".join(unknown)))
    category_ids, kind_ids, unknown = set(), set(), []
    for token in split_list(get("willing")):
        if token in lk.categories:
            category_ids.add(lk.categories[token])
        elif token in lk.kinds:
            kind_ids.add(lk.kinds[token])
        else:
            unknown.append(token)
    if unknown:
        err("willing", _("Not a post category or kind: %(v)s", v="、".join(unknown)))
    availability: set = set()
    try:
        availability = parse_availability(get("availability"))
    except ValueError as e:
        err("availability", _("Cannot read \"%(v)s\"; write e.g. 周一上午、工作日晚上、周末全天.",
                              v=str(e)))
    max_sessions = None
    if get("max_sessions"):
        try:
            max_sessions = int(get("max_sessions"))
            if not 0 <= max_sessions <= 31:
                raise ValueError
        except ValueError:
            err("max_sessions", _("A whole number from 0 to 31."))
    for key in ("free_text_skills", "hobbies"):
        if len(get(key)) > 500:
            err(key, _("At most %(n)d characters.", n=500))
    if len(errors) > before:
        return None
    form_keys = ("skills", "free_text_skills", "hobbies", "willing", "availability",
                 "max_sessions")
    return _Clean(row=row, name=name, phone=phone, id_number=id_number,
                  id_hmac=identity.id_number_hmac(id_number), unit_id=unit_id, grid_id=grid_id,
                  has_form=any(get(k) for k in form_keys), skill_ids=frozenset(skill_ids),
                  free_text_skills=get("free_text_skills"), hobbies=get("hobbies"),
                  category_ids=frozenset(category_ids), kind_ids=frozenset(kind_ids),
                  availability=frozenset(availability), max_sessions=max_sessions)


def _chunks(values: list, size: int = _CHUNK):
    for start in range(0, len(values), size):
        yield values[start:start + size]


@dataclasses.dataclass(frozen=True)
class _Existing:
    """What the import needs of a member already in the database (plain columns: loading
    10,000 ORM objects with their users would take seconds)."""

    id: int
    user_id: int
    name: str
    community_id: int
    grid_id: int | None
    unit_id: int | None
    profile_version: int
    id_number_hmac: str | None


def _existing(condition) -> list[_Existing]:
    return [_Existing(*row) for row in db.session.execute(
        select(Member.id, Member.user_id, User.name, Member.community_id, Member.grid_id,
               Member.unit_id, Member.profile_version, Member.id_number_hmac)
        .join(User, User.id == Member.user_id).where(condition)
    ).all()]


def _match_existing(rows: list[_Clean], community: OrgNode, errors: list[RowError]) -> list[_Clean]:
    """Attach existing members/accounts; rows that conflict with what exists become errors."""
    by_hmac: dict[str, _Existing] = {}
    for chunk in _chunks([r.id_hmac for r in rows]):
        by_hmac.update((m.id_number_hmac, m) for m in _existing(in_list(Member.id_number_hmac, chunk)))
    by_phone: dict[str, tuple[int, str]] = {}
    for chunk in _chunks([r.phone for r in rows]):
        by_phone.update((phone, (uid, name)) for uid, phone, name in db.session.execute(
            select(User.id, User.phone, User.name).where(in_list(User.phone, chunk))).all())
    member_of_user: dict[int, _Existing] = {}
    for chunk in _chunks([uid for uid, _name in by_phone.values()]):
        member_of_user.update((m.user_id, m) for m in _existing(in_list(Member.user_id, chunk)))

    phone_col, id_col, name_col = (next(c.header for c in COLUMNS if c.key == k)
                                   for k in ("phone", "id_number", "name"))
    ok = []
    for r in rows:
        member = by_hmac.get(r.id_hmac)
        user = by_phone.get(r.phone)
        if member is not None:
            if user is not None and user[0] != member.user_id:
                errors.append(RowError(r.row, phone_col, _(
                    "This phone number belongs to another person than this ID card number.")))
                continue
        elif user is not None:
            member = member_of_user.get(user[0])
            if member is not None and member.id_number_hmac is not None:
                errors.append(RowError(r.row, id_col, _(
                    "This phone number is registered with another ID card number.")))
                continue
        if member is not None:
            if member.community_id != community.id:
                other = db.session.get(OrgNode, member.community_id)
                errors.append(RowError(r.row, id_col, _(
                    "Already reported to another community (%(c)s).", c=other.name)))
                continue
            if member.name != r.name:
                errors.append(RowError(r.row, name_col, _(
                    "The name differs from the registered one (%(n)s).", n=member.name)))
                continue
            r.member = member
        elif user is not None:
            if user[1] != r.name:
                errors.append(RowError(r.row, phone_col, _(
                    "This phone number is registered to someone else (%(n)s).", n=user[1])))
                continue
            r.user_id = user[0]
        ok.append(r)
    return ok


def _profile_differs(r: _Clean, current: queries.Profile | None) -> bool:
    if current is None:
        return True
    return (current.skill_ids, current.willing_category_ids, current.willing_kind_ids,
            current.free_text_skills, current.hobbies, current.availability,
            current.max_sessions_per_month) != (
        r.skill_ids, r.category_ids, r.kind_ids, r.free_text_skills, r.hobbies, r.availability,
        r.max_sessions)


def import_rows(actor, community: OrgNode, rows: list[tuple[int, dict[str, str]]],
                all_or_nothing: bool = True) -> ImportResult:
    """Validate every row, then write (all valid rows, or nothing when ``all_or_nothing`` and a
    row is wrong). Flushes; the caller commits when ``result.committed``."""
    if community.kind != OrgKind.COMMUNITY:
        raise Invalid(_l("A member belongs to a community."), field="community_id")
    if actor is not None and not community.can_manage(actor):
        from timebank.core.errors import Forbidden

        raise Forbidden()
    result = ImportResult(rows=len(rows), all_or_nothing=all_or_nothing)
    lk = _Lookups(community)
    errors: list[RowError] = []
    clean: list[_Clean] = []
    first_row_of: dict[str, int] = {}
    for number, cells in rows:
        r = _validate(number, cells, lk, errors)
        if r is None:
            continue
        dup = first_row_of.get("id:" + r.id_hmac) or first_row_of.get("tel:" + r.phone)
        if dup is not None:
            errors.append(RowError(number, "", _("Same person as row %(n)d.", n=dup)))
            continue
        first_row_of["id:" + r.id_hmac] = first_row_of["tel:" + r.phone] = number
        clean.append(r)
    clean = _match_existing(clean, community, errors)
    result.errors = sorted(errors, key=lambda e: (e.row, e.column))
    if errors and all_or_nothing:
        return result

    current = queries.profiles_for([r.member.id for r in clean if r.member is not None])
    try:
        created, updated, unchanged = _write(actor, community, clean, current)
    except IntegrityError:
        # Someone registered one of these people while the file was being imported.
        db.session.rollback()
        raise Conflict(_l("Another change to these members happened during the import; "
                          "import the file again.")) from None
    result.created, result.updated, result.unchanged = created, updated, unchanged
    result.committed = True
    audit.record(actor, "member.import", "org", community.id, rows=result.rows, created=created,
                 updated=updated, unchanged=unchanged, error_rows=result.error_rows,
                 mode="all" if all_or_nothing else "valid")
    return result


def _write(actor, community: OrgNode, rows: list[_Clean],
           current: dict[int, queries.Profile]) -> tuple[int, int, int]:
    now = clock.now()
    actor_id = actor.id if actor is not None else None
    new_members = [r for r in rows if r.member is None]
    new_people = [r for r in new_members if r.user_id is None]
    had_account = [r.user_id for r in new_members if r.user_id is not None]

    if new_people:
        user_ids = _insert_many(
            User.__table__, ("phone",),
            [{"phone": r.phone, "name": r.name, "password_hash": None, "active": True,
              "created_at": now, "session_version": 1} for r in new_people])
        for r, uid in zip(new_people, user_ids, strict=True):
            r.user_id = uid
    new_member_id: dict[int, int] = {}
    if new_members:
        member_ids = _insert_many(
            Member.__table__, ("user_id",),
            [{"user_id": r.user_id, "community_id": community.id, "grid_id": r.grid_id,
              "unit_id": r.unit_id, "status": MemberStatus.APPROVED.value,
              "reviewed_by_id": actor_id, "reviewed_at": now, "created_at": now,
              "applied_at": now, "id_number_ciphertext": identity.encrypt_id_number(r.id_number),
              "id_number_hmac": r.id_hmac, "name_initials": identity.name_initials(r.name),
              "phone_tail": identity.phone_tail(r.phone),
              "profile_version": 1 if r.has_form else 0}
             for r in new_members])
        new_member_id = dict(zip((id(r) for r in new_members), member_ids, strict=True))
        has_role = set()
        for chunk in _chunks(had_account):
            has_role.update(db.session.execute(
                select(RoleAssignment.user_id).where(
                    in_list(RoleAssignment.user_id, chunk), RoleAssignment.role == Role.MEMBER.value,
                    RoleAssignment.org_id == community.id)).scalars())
        role_rows = [{"user_id": r.user_id, "role": Role.MEMBER.value, "org_id": community.id,
                      "created_at": now, "created_by_id": actor_id}
                     for r in new_members if r.user_id not in has_role]
        if role_rows:
            db.session.execute(insert(RoleAssignment.__table__), role_rows)

    # Registration forms: version 1 for new members, a new version where the file differs.
    versions = []  # (member id, version, row)
    member_updates = []
    updated = unchanged = 0
    for r in rows:
        if r.member is None:
            if r.has_form:
                versions.append((new_member_id[id(r)], 1, r))
            continue
        m = r.member
        changes = {}
        if r.grid_id is not None and r.grid_id != m.grid_id:
            changes["grid_id"] = r.grid_id
        if r.unit_id is not None and r.unit_id != m.unit_id:
            changes["unit_id"] = r.unit_id
        if m.id_number_hmac is None:
            changes["id_number_hmac"] = r.id_hmac
            changes["id_number_ciphertext"] = identity.encrypt_id_number(r.id_number)
        if r.has_form and _profile_differs(r, current.get(m.id)):
            versions.append((m.id, m.profile_version + 1, r))
            changes["profile_version"] = m.profile_version + 1
        if changes:
            member_updates.append({"id": m.id, **changes})
            updated += 1
        else:
            unchanged += 1
    for chunk in _group_by_keys(member_updates):
        db.session.execute(update(Member), chunk)
    if versions:
        profile_ids = _insert_many(
            MemberProfile.__table__, ("member_id", "version"),
            [{"member_id": mid, "version": v, "created_at": now, "created_by_id": actor_id,
              "source": ProfileSource.IMPORT.value, "free_text_skills": r.free_text_skills,
              "hobbies": r.hobbies, "availability": availability_to_mask(r.availability),
              "max_sessions_per_month": r.max_sessions} for mid, v, r in versions])
        links = [(member_profile_skills, "skill_id", "skill_ids"),
                 (member_profile_categories, "category_id", "category_ids"),
                 (member_profile_kinds, "kind_id", "kind_ids")]
        for table, column, attr in links:
            values = [{"profile_id": pid, column: ref}
                      for pid, (_m, _v, r) in zip(profile_ids, versions, strict=True)
                      for ref in sorted(getattr(r, attr))]
            if values:
                db.session.execute(insert(table), values)
    db.session.flush()
    # Objects loaded before the bulk statements may hold old values.
    db.session.expire_all()
    identified = [*new_member_id.values(),
                  *(u["id"] for u in member_updates if "id_number_hmac" in u)]
    if identified:
        signals.members_imported.send(None, member_ids=identified)
    return len(new_members), updated, unchanged


def _insert_many(table, keys: tuple[str, ...], rows: list[dict]) -> list[int]:
    """Insert rows and return their ids in order, found again through a unique key.

    Not ``INSERT ... RETURNING`` over many rows: psycopg parses every such multi-row statement
    anew, which costs seconds at 10,000 rows, while an executemany of one statement is
    pipelined (and plain executemany is what SQLite is fastest at too).
    """
    db.session.execute(insert(table), rows)
    found: dict[tuple, int] = {}
    first = keys[0]
    for chunk in _chunks(sorted({r[first] for r in rows})):
        for rec in db.session.execute(select(table.c.id, *(table.c[k] for k in keys))
                                      .where(in_list(table.c[first], chunk))):
            found[tuple(rec[1:])] = rec[0]
    return [found[tuple(r[k] for k in keys)] for r in rows]


def _group_by_keys(updates: list[dict]) -> list[list[dict]]:
    """executemany needs the same keys in every parameter set."""
    groups: dict[tuple, list[dict]] = {}
    for u in updates:
        groups.setdefault(tuple(sorted(u)), []).append(u)
    return list(groups.values())
