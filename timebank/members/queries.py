"""Reads on members: the current registration form as plain data (for the matcher), the staff
directory, a unit's members for its liaison."""
from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import (Select, and_, bindparam, exists, func, literal, literal_column, or_,
                        select, union_all)

from timebank.accounts.models import Role, User
from timebank.core.web import db_int
from timebank.extensions import db
from timebank.members.identity import has_han, looks_like_initials
from timebank.members.models import (Member, MemberProfile, MemberStatus, Skill, UnitReport,
                                     mask_to_availability, member_profile_categories,
                                     member_profile_kinds, member_profile_skills)
from timebank.orgs.models import OrgKind, OrgNode
from timebank.catalogue.models import PostKind

#: IN lists are split so one query never binds more parameters than a database accepts.
_CHUNK = 5000


def in_list(column, values):
    """``column IN (values)`` for thousands of values.

    On PostgreSQL: ``column IN (SELECT unnest(:array))``. One parameter instead of thousands
    (psycopg rewrites each placeholder in Python: seconds for a few thousand ids), and a
    semi-join the planner hashes even in the generic plan of a prepared statement, where
    ``= ANY(:array)`` is a linear search per row (half a second per 900 keys on a freshly
    imported, not yet analysed table).
    """
    values = list(values)
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return column.in_(select(func.unnest(bindparam(None, values, type_=ARRAY(column.type)))))
    return column.in_(values)


@dataclasses.dataclass(frozen=True)
class Profile:
    """The current registration form of a member, as plain data (no session, no Flask)."""

    skill_ids: frozenset[int] = frozenset()
    skill_codes: frozenset[str] = frozenset()
    free_text_skills: str = ""
    hobbies: str = ""
    willing_category_ids: frozenset[int] = frozenset()
    willing_kind_ids: frozenset[int] = frozenset()
    #: {(weekday 0=Mon..6, "morning" | "afternoon" | "evening")}
    availability: frozenset[tuple[int, str]] = frozenset()
    max_sessions_per_month: int | None = None
    member_id: int | None = None
    version: int = 0

    def is_free(self, weekday: int, slot: str) -> bool:
        return (weekday, slot) in self.availability


def member_for_user(user) -> Member | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.execute(select(Member).where(Member.user_id == user.id)).scalar_one_or_none()


def find_by_id_number(number: str) -> Member | None:
    """The member with this (normalised) ID card number, found by its keyed hash."""
    from timebank.members.identity import id_number_hmac

    return db.session.execute(
        select(Member).where(Member.id_number_hmac == id_number_hmac(number))
    ).scalar_one_or_none()


def current_profile(member: Member) -> Profile | None:
    if not member.profile_version:
        return None
    return profiles_for([member.id]).get(member.id)


def profiles_for(member_ids: Iterable[int]) -> dict[int, Profile]:
    """Current forms of many members: two queries per 5,000 members (the form rows, then every
    chosen skill, category and kind in one UNION ALL). Members without a form are absent."""
    ids = sorted(set(member_ids))
    out: dict[int, Profile] = {}
    for start in range(0, len(ids), _CHUNK):
        out.update(_profiles_chunk(ids[start:start + _CHUNK]))
    return out


def _profiles_chunk(member_ids: list[int]) -> dict[int, Profile]:
    rows = db.session.execute(
        select(MemberProfile.id, MemberProfile.member_id, MemberProfile.version,
               MemberProfile.free_text_skills, MemberProfile.hobbies, MemberProfile.availability,
               MemberProfile.max_sessions_per_month)
        .join(Member, and_(Member.id == MemberProfile.member_id,
                           Member.profile_version == MemberProfile.version))
        .where(in_list(Member.id, member_ids))
    ).all()
    if not rows:
        return {}
    profile_ids = [r.id for r in rows]
    s, c, k = member_profile_skills, member_profile_categories, member_profile_kinds
    links = union_all(
        select(s.c.profile_id, literal("s").label("what"), s.c.skill_id.label("ref"),
               Skill.code.label("code"))
        .join(Skill, Skill.id == s.c.skill_id).where(in_list(s.c.profile_id, profile_ids)),
        select(c.c.profile_id, literal("c"), c.c.category_id, literal(None))
        .where(in_list(c.c.profile_id, profile_ids)),
        select(k.c.profile_id, literal("k"), k.c.kind_id, literal(None))
        .where(in_list(k.c.profile_id, profile_ids)),
    )
    parts: dict[int, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for profile_id, what, ref, code in db.session.execute(links):
        parts[profile_id][what].add(ref)
        if code is not None:
            parts[profile_id]["code"].add(code)
    out = {}
    for r in rows:
        p = parts.get(r.id, {})
        out[r.member_id] = Profile(
            skill_ids=frozenset(p.get("s", ())), skill_codes=frozenset(p.get("code", ())),
            free_text_skills=r.free_text_skills, hobbies=r.hobbies,
            willing_category_ids=frozenset(p.get("c", ())),
            willing_kind_ids=frozenset(p.get("k", ())),
            availability=mask_to_availability(r.availability),
            max_sessions_per_month=r.max_sessions_per_month, member_id=r.member_id,
            version=r.version,
        )
    return out


def profile_history(member: Member) -> list[MemberProfile]:
    return list(db.session.execute(
        select(MemberProfile).where(MemberProfile.member_id == member.id)
        .order_by(MemberProfile.version.desc())
    ).scalars())


# --- catalogues --------------------------------------------------------------------------------


def skills(active_only: bool = True) -> list[Skill]:
    stmt = select(Skill).order_by(Skill.position, Skill.id)
    if active_only:
        stmt = stmt.where(Skill.active.is_(True))
    return list(db.session.execute(stmt).scalars())




def active_units() -> list[OrgNode]:
    return list(db.session.execute(
        select(OrgNode).where(OrgNode.kind == OrgKind.UNIT.value, OrgNode.active.is_(True))
        .order_by(OrgNode.name)
    ).scalars())


def active_communities() -> list[OrgNode]:
    return list(db.session.execute(
        select(OrgNode).where(OrgNode.kind == OrgKind.COMMUNITY.value, OrgNode.active.is_(True))
        .order_by(OrgNode.path)
    ).scalars())


def grids_of(community_ids: Iterable[int]) -> list[OrgNode]:
    ids = list(community_ids)
    if not ids:
        return []
    return list(db.session.execute(
        select(OrgNode).where(OrgNode.kind == OrgKind.GRID.value, OrgNode.active.is_(True),
                              OrgNode.parent_id.in_(ids))
        .order_by(OrgNode.parent_id, OrgNode.code)
    ).scalars())


# --- staff directory ---------------------------------------------------------------------------


def scope_community_ids(user) -> Select:
    """Ids of the communities a staff user manages, as a subquery for ``IN``."""
    roots = user.scope_roots()
    if not roots:
        return select(OrgNode.id).where(literal(False))
    return select(OrgNode.id).where(
        OrgNode.kind == OrgKind.COMMUNITY.value,
        or_(*[OrgNode.path.like(f"{r.path}%") for r in roots]),
    )


def communities_in_scope(user) -> list[OrgNode]:
    return list(db.session.execute(
        select(OrgNode).where(OrgNode.id.in_(scope_community_ids(user)))
        .order_by(OrgNode.path)
    ).scalars())


@dataclasses.dataclass
class DirectoryFilter:
    q: str = ""
    community_id: int | None = None
    grid_id: int | None = None
    unit_id: int | None = None
    skill_id: int | None = None
    #: "c<category id>" or "k<kind id>"
    willing: str = ""
    status: str = ""

    @classmethod
    def from_args(cls, args) -> DirectoryFilter:
        def as_int(name):
            value = args.get(name, type=db_int)
            return value if value and value > 0 else None

        status = args.get("status", "")
        return cls(q=(args.get("q") or "").strip()[:50], community_id=as_int("community"),
                   grid_id=as_int("grid"), unit_id=as_int("unit"), skill_id=as_int("skill"),
                   willing=(args.get("willing") or "")[:12],
                   status=status if status in set(MemberStatus) else "")

    def as_args(self) -> dict:
        pairs = {"q": self.q, "community": self.community_id, "grid": self.grid_id,
                 "unit": self.unit_id, "skill": self.skill_id, "willing": self.willing,
                 "status": self.status}
        return {k: v for k, v in pairs.items() if v}


def _current_profile_has(table, column, value) -> object:
    return exists(
        select(1).select_from(table)
        .join(MemberProfile, MemberProfile.id == table.c.profile_id)
        .where(MemberProfile.member_id == Member.id,
               MemberProfile.version == Member.profile_version, column == value)
    )


def directory(user, f: DirectoryFilter, join_users: bool = False) -> Select:
    """Members in the user's scope matching the filter, ordered by pinyin initials.

    Every condition leads with the community (the indexes start with ``community_id``), so a
    page stays fast at 20,000 members per community.
    """
    scope = list(db.session.execute(scope_community_ids(user)).scalars())
    if f.community_id:
        scope = [c for c in scope if c == f.community_id]
    stmt = select(Member)
    # One community: an equality, so the (community_id, name_initials) index also gives the
    # order and a page does not sort 20,000 rows.
    stmt = stmt.where(Member.community_id == scope[0] if len(scope) == 1
                      else Member.community_id.in_(scope))
    if f.grid_id:
        stmt = stmt.where(Member.grid_id == f.grid_id)
    if f.unit_id:
        stmt = stmt.where(Member.unit_id == f.unit_id)
    if f.status:
        stmt = stmt.where(Member.status == f.status)
    if f.skill_id:
        stmt = stmt.where(_current_profile_has(member_profile_skills,
                                               member_profile_skills.c.skill_id, f.skill_id))
    if f.willing[:1] in ("c", "k") and f.willing[1:].isdigit():
        ref = int(f.willing[1:])
        if f.willing[0] == "c":
            stmt = stmt.where(_current_profile_has(
                member_profile_categories, member_profile_categories.c.category_id, ref))
        else:
            kind = db.session.get(PostKind, ref)
            # Willing to serve a whole category covers each kind in it.
            cond = _current_profile_has(member_profile_kinds, member_profile_kinds.c.kind_id, ref)
            if kind is not None:
                cond = or_(cond, _current_profile_has(
                    member_profile_categories, member_profile_categories.c.category_id,
                    kind.category_id))
            stmt = stmt.where(cond)
    q = f.q
    if join_users or (q and not (q.isdigit() and len(q) == 4) and not looks_like_initials(q)):
        # Only name and full-phone searches need the users table (a join costs a lookup per
        # member, also in the count).
        stmt = stmt.join(User, User.id == Member.user_id)
    if q:
        digits = q.replace(" ", "")
        if digits.isdigit() and len(digits) == 4:
            stmt = stmt.where(Member.phone_tail == digits)
        elif digits.isdigit() and len(digits) == 11:
            stmt = stmt.where(User.phone == digits)
        elif looks_like_initials(q):
            # A range, not LIKE: it uses the (community_id, name_initials) index everywhere.
            low = q.lower()
            stmt = stmt.where(Member.name_initials >= low)
            high = _successor(low)
            if high is not None:
                stmt = stmt.where(Member.name_initials < high)
        elif has_han(q):
            escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(User.name.like(f"%{escaped}%", escape="\\"))
        else:
            stmt = stmt.where(literal(False))
    return stmt.order_by(Member.name_initials, Member.id)


def _successor(prefix: str) -> str | None:
    """The smallest letters-only string after every string starting with ``prefix`` ("zs" ->
    "zt", "az" -> "b"); letters only, so every collation orders it the same way."""
    chars = list(prefix)
    while chars and chars[-1] == "z":
        chars.pop()
    if not chars:
        return None
    chars[-1] = chr(ord(chars[-1]) + 1)
    return "".join(chars)


def page_options():
    """Loader options for a page of :func:`directory` / :func:`unit_members` rows: the
    organisations each row shows, one query each (the user comes joined, see Member.user)."""
    from sqlalchemy.orm import selectinload

    return (selectinload(Member.community), selectinload(Member.grid),
            selectinload(Member.unit))


def status_counts(user, community_id: int | None = None) -> dict[str, int]:
    scope = list(db.session.execute(scope_community_ids(user)).scalars())
    if community_id:
        scope = [c for c in scope if c == community_id]
    stmt = (select(Member.status, func.count()).where(
        Member.community_id == scope[0] if len(scope) == 1 else Member.community_id.in_(scope))
        .group_by(Member.status))
    return dict(db.session.execute(stmt).all())


def members_in_scope(user, ids: Iterable[int]) -> list[Member]:
    """Members with these ids that the user manages; the caller compares the count (a guessed
    id from elsewhere must not be acted on)."""
    ids = list({int(i) for i in ids})
    if not ids:
        return []
    return list(db.session.execute(
        select(Member).where(Member.id.in_(ids),
                             Member.community_id.in_(scope_community_ids(user)))
        .order_by(Member.id)
    ).scalars())


def units_reported_to(user) -> list[UnitReport]:
    """Units that reported to a street or community in the user's scope."""
    roots = user.scope_roots()
    if not roots:
        return []
    in_scope = select(OrgNode.id).where(or_(*[OrgNode.path.like(f"{r.path}%") for r in roots]))
    return list(db.session.execute(
        select(UnitReport).where(UnitReport.org_id.in_(in_scope))
        .order_by(UnitReport.reported_at.desc())
    ).scalars())


# --- liaison -----------------------------------------------------------------------------------

#: Reporting status a liaison sees, in the order the list shows them.
REPORTING_STATES = ("not_reported", "form_missing", "pending", "reported")


def reporting_state(member: Member) -> str:
    if member.status in (MemberStatus.REJECTED, MemberStatus.INACTIVE):
        return "not_reported"
    if member.status == MemberStatus.PENDING:
        return "pending"
    return "reported" if member.profile_version else "form_missing"


def needs_reminder(member: Member) -> bool:
    """Something is waiting on the member (not on staff): resubmit, or fill in the form."""
    return reporting_state(member) in ("not_reported", "form_missing")


def liaison_units(user) -> list[OrgNode]:
    units = user.role_nodes(Role.UNIT_LIAISON)
    return sorted((u for u in units if u.kind == OrgKind.UNIT), key=lambda u: u.name)


def unit_members(unit: OrgNode, state: str = "") -> Select:
    stmt = select(Member).where(Member.unit_id == unit.id)
    if state == "not_reported":
        stmt = stmt.where(Member.status.in_([MemberStatus.REJECTED, MemberStatus.INACTIVE]))
    elif state == "pending":
        stmt = stmt.where(Member.status == MemberStatus.PENDING)
    elif state == "form_missing":
        stmt = stmt.where(Member.status == MemberStatus.APPROVED, Member.profile_version == 0)
    elif state == "reported":
        stmt = stmt.where(Member.status == MemberStatus.APPROVED, Member.profile_version > 0)
    return stmt.order_by(Member.name_initials, Member.id)


def unit_state_counts(unit: OrgNode) -> dict[str, int]:
    # A literal, not a bound 0: PostgreSQL must see the same expression in GROUP BY.
    has_form = Member.profile_version > literal_column("0")
    rows = db.session.execute(
        select(Member.status, has_form, func.count())
        .where(Member.unit_id == unit.id).group_by(Member.status, has_form)
    ).all()
    counts = dict.fromkeys(REPORTING_STATES, 0)
    for status, has_form, n in rows:
        if status in (MemberStatus.REJECTED, MemberStatus.INACTIVE):
            counts["not_reported"] += n
        elif status == MemberStatus.PENDING:
            counts["pending"] += n
        else:
            counts["reported" if has_form else "form_missing"] += n
    return counts


def unit_reports(unit: OrgNode) -> list[UnitReport]:
    return list(db.session.execute(
        select(UnitReport).where(UnitReport.unit_id == unit.id).order_by(UnitReport.reported_at)
    ).scalars())


def report_targets() -> list[OrgNode]:
    """Streets and communities a unit can report to."""
    return list(db.session.execute(
        select(OrgNode).where(OrgNode.kind.in_([OrgKind.STREET.value, OrgKind.COMMUNITY.value]),
                              OrgNode.active.is_(True)).order_by(OrgNode.path)
    ).scalars())


def unit_liaisons(unit_ids: Iterable[int]) -> dict[int, list[User]]:
    ids = list(set(unit_ids))
    if not ids:
        return {}
    from timebank.accounts.models import RoleAssignment

    out: dict[int, list[User]] = defaultdict(list)
    for org_id, user in db.session.execute(
        select(RoleAssignment.org_id, User).join(User, User.id == RoleAssignment.user_id)
        .where(RoleAssignment.role == Role.UNIT_LIAISON.value, RoleAssignment.org_id.in_(ids),
               User.active.is_(True)).order_by(User.name)
    ).all():
        out[org_id].append(user)
    return out


def community_staff(community_id: int) -> list[User]:
    from timebank.accounts.models import RoleAssignment

    return list(db.session.execute(
        select(User).join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.role == Role.COMMUNITY_STAFF.value,
               RoleAssignment.org_id == community_id, User.active.is_(True))
        .order_by(User.name)
    ).scalars())
