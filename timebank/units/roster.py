"""The unit's party roster (花名册): its spreadsheet and the import.

The file is read by :func:`timebank.members.sheets.read_upload` (size cap, content sniffing, the
zip-bomb and XML checks) with this module's headings. Every row is validated and its errors are
listed as (row, column, message), like the member import. A person is found again by the keyed
hash of their ID number or by their phone, so importing the same file twice writes nothing the
second time; two rows for one person in a file are reported, not written twice. ID numbers are
kept only as the members' keyed hash and ciphertext, never in clear.
"""
from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from timebank.accounts.models import User
from timebank.audit import operations as audit
from timebank.core import clock
from timebank.core.errors import Conflict, Forbidden, Invalid
from timebank.core.validators import clean_text, is_cn_mobile, normalize_phone
from timebank.extensions import db
from timebank.members import identity, sheets
from timebank.members import operations as members_ops
from timebank.members import queries as members_queries
from timebank.members.imports import RowError
from timebank.members.models import Member
from timebank.members.sheets import Column
from timebank.orgs.models import OrgKind, OrgNode
from timebank.units.models import Management, RosterEntry

COLUMNS = (
    Column("name", "姓名", True, "必填"),
    Column("id_number", "身份证号", False,
           "身份证号和手机号至少填一项；请将单元格设为文本，避免被改成科学计数法"),
    Column("phone", "手机号", False, "11位手机号"),
    Column("management", "管理类型", True, "必填：直管 或 协管"),
    Column("community", "居住社区", False, "本区社区名称，知道的请填写"),
)
HEADERS = {c.header: c for c in COLUMNS}
MANAGEMENT_WORDS = {"直管": Management.DIRECT, "协管": Management.CO,
                    "direct": Management.DIRECT, "co": Management.CO}


def rows_from(rows: Iterable[list[str]]) -> list[tuple[int, dict[str, str]]]:
    """The heading row (within the first 5) names the columns; then one dict per data row."""
    def missing(keys: set[str]) -> list[str]:
        lacking = [c.header for c in COLUMNS if c.required and c.key not in keys]
        if not {"id_number", "phone"} & keys:
            lacking.append("身份证号/手机号")
        return lacking

    return sheets.mapped_rows(rows, HEADERS, missing, _l(
        "No heading row with 姓名 and 管理类型 was found in the first rows. Use the template."))


def template_csv() -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerow([c.header for c in COLUMNS])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def template_xlsx() -> bytes:
    import openpyxl
    from openpyxl.styles import Font

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "花名册"
    ws.append([c.header for c in COLUMNS])
    for i, c in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=1, column=i)
        cell.font = Font(bold=True, color="C8161D" if c.required else "000000")
        ws.column_dimensions[cell.column_letter].width = 22 if c.key == "id_number" else 14
        if c.key in ("phone", "id_number"):
            for row in range(2, 2002):  # text, or Excel turns 18 digits into 1.10105E+17
                ws.cell(row=row, column=i).number_format = "@"
    help_ws = wb.create_sheet("填写说明")
    help_ws.append(["列名", "说明"])
    for c in COLUMNS:
        help_ws.append([c.header, c.hint])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@dataclasses.dataclass
class RosterImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    #: Rows on the roster that are linked to a member record after the import.
    matched: int = 0
    errors: list[RowError] = dataclasses.field(default_factory=list)
    committed: bool = False

    @property
    def error_rows(self) -> int:
        return len({e.row for e in self.errors})

    @property
    def unregistered(self) -> int:
        return self.created + self.updated + self.unchanged - self.matched


@dataclasses.dataclass
class _Row:
    row: int
    name: str
    id_number: str
    id_hmac: str | None
    phone: str | None
    management: str
    community_id: int | None
    member_id: int | None = None
    entry: RosterEntry | None = None


def _header(key: str) -> str:
    return next(c.header for c in COLUMNS if c.key == key)


def _validate(number: int, cells: dict[str, str], communities: dict[str, int],
              errors: list[RowError]) -> _Row | None:
    before = len(errors)

    def err(key: str, message) -> None:
        errors.append(RowError(number, _header(key) if key else "", str(message)))

    def get(key: str) -> str:
        return (cells.get(key) or "").strip()

    name = clean_text(get("name"))
    if not name:
        err("name", _("Required."))
    elif len(name) > 50:
        err("name", _("At most %(n)d characters.", n=50))
    id_number = ""
    if get("id_number"):
        try:
            id_number = identity.clean_id_number(get("id_number"))
        except Invalid as e:
            err("id_number", e.message)
    phone = normalize_phone(get("phone")) if get("phone") else ""
    if phone and not is_cn_mobile(phone):
        err("phone", _("Not a valid mainland China mobile number (11 digits)."))
    if not get("id_number") and not get("phone"):
        err("", _("Give the ID card number or the mobile number (at least one)."))
    management = MANAGEMENT_WORDS.get(get("management"))
    if management is None:
        err("management", _("Write 直管 or 协管."))
    community_id = None
    if get("community"):
        community_id = communities.get(get("community"))
        if community_id is None:
            err("community", _("Not a community of this district: %(v)s", v=get("community")))
    if len(errors) > before:
        return None
    return _Row(row=number, name=name, id_number=id_number,
                id_hmac=identity.id_number_hmac(id_number) if id_number else None,
                phone=phone or None, management=management.value, community_id=community_id)


def _community_lookup() -> dict[str, int]:
    out: dict[str, int] = {}
    for c in members_queries.active_communities():
        out[c.name] = out[c.full_name] = out[c.code] = c.id
    return out


def _members_for(rows: list[_Row]) -> tuple[dict[str, tuple[int, str | None]],
                                            dict[str, tuple[int, str | None]]]:
    """Member ids (and their ID hash) by ID hash and by phone, for the rows' keys."""
    hmacs = [r.id_hmac for r in rows if r.id_hmac]
    phones = [r.phone for r in rows if r.phone]
    by_hmac, by_phone = {}, {}
    for start in range(0, len(hmacs), 900):
        for mid, h in db.session.execute(select(Member.id, Member.id_number_hmac).where(
                members_queries.in_list(Member.id_number_hmac, hmacs[start:start + 900]))):
            by_hmac[h] = (mid, h)
    for start in range(0, len(phones), 900):
        for mid, h, phone in db.session.execute(
                select(Member.id, Member.id_number_hmac, User.phone)
                .join(User, User.id == Member.user_id)
                .where(members_queries.in_list(User.phone, phones[start:start + 900]))):
            by_phone[phone] = (mid, h)
    return by_hmac, by_phone


def _match(rows: list[_Row], unit: OrgNode, errors: list[RowError]) -> list[_Row]:
    """Attach the member each row names and the roster entry it is already on."""
    entries = list(db.session.execute(
        select(RosterEntry).where(RosterEntry.unit_id == unit.id)).scalars())
    e_hmac = {e.id_number_hmac: e for e in entries if e.id_number_hmac}
    e_phone = {e.phone: e for e in entries if e.phone}
    e_member = {e.member_id: e for e in entries if e.member_id}
    by_hmac, by_phone = _members_for(rows)
    row_of_member: dict[int, int] = {}
    ok = []
    for r in rows:
        member = by_hmac.get(r.id_hmac) if r.id_hmac else None
        phone_member = by_phone.get(r.phone) if r.phone else None
        if member is None and phone_member is not None:
            if r.id_hmac and phone_member[1] and phone_member[1] != r.id_hmac:
                errors.append(RowError(r.row, _header("phone"), _(
                    "This phone number belongs to a member with another ID card number.")))
                continue
            member = phone_member
        r.member_id = member[0] if member else None
        if r.member_id is not None:
            if r.member_id in row_of_member:
                errors.append(RowError(r.row, "", _("Same person as row %(n)d.",
                                                    n=row_of_member[r.member_id])))
                continue
            row_of_member[r.member_id] = r.row
        found = {e.id for e in (e_hmac.get(r.id_hmac), e_phone.get(r.phone),
                                e_member.get(r.member_id)) if e is not None}
        if len(found) > 1:
            errors.append(RowError(r.row, "", _(
                "The ID card number and the phone number are on two different roster rows; "
                "correct the file or the roster.")))
            continue
        if found:
            entry = next(e for e in entries if e.id in found)
            if entry.id_number_hmac and r.id_hmac and entry.id_number_hmac != r.id_hmac:
                errors.append(RowError(r.row, _header("id_number"), _(
                    "This phone number is on the roster with another ID card number.")))
                continue
            r.entry = entry
        ok.append(r)
    return ok


def import_rows(actor, unit: OrgNode, rows: list[tuple[int, dict[str, str]]],
                all_or_nothing: bool = True) -> RosterImportResult:
    """Validate every row, then write (all valid rows, or nothing when ``all_or_nothing`` and a
    row is wrong). Flushes; the caller commits when ``result.committed``."""
    if unit.kind != OrgKind.UNIT:
        raise Invalid(_l("Choose a unit."), field="unit_id")
    if actor is not None and not members_ops.can_liaise(actor, unit):
        raise Forbidden()
    result = RosterImportResult(rows=len(rows))
    communities = _community_lookup()
    errors: list[RowError] = []
    clean: list[_Row] = []
    first_row_of: dict[str, int] = {}
    for number, cells in rows:
        r = _validate(number, cells, communities, errors)
        if r is None:
            continue
        keys = [k for k in ("id:" + (r.id_hmac or ""), "tel:" + (r.phone or ""))
                if not k.endswith(":")]
        dup = next((first_row_of[k] for k in keys if k in first_row_of), None)
        if dup is not None:
            errors.append(RowError(number, "", _("Same person as row %(n)d.", n=dup)))
            continue
        first_row_of.update((k, number) for k in keys)
        clean.append(r)
    clean = _match(clean, unit, errors)
    result.errors = sorted(errors, key=lambda e: (e.row, e.column))
    if errors and all_or_nothing:
        return result
    try:
        _write(actor, unit, clean, result)
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_l("The roster changed while the file was imported; import the file "
                          "again.")) from None
    result.committed = True
    audit.record(actor, "unit.roster_import", "org", unit.id, rows=result.rows,
                 created=result.created, updated=result.updated, unchanged=result.unchanged,
                 matched=result.matched, error_rows=result.error_rows)
    return result


def _write(actor, unit: OrgNode, rows: list[_Row], result: RosterImportResult) -> None:
    now = clock.now()
    actor_id = actor.id if actor is not None else None
    for r in rows:
        e = r.entry
        if e is None:
            db.session.add(RosterEntry(
                unit_id=unit.id, name=r.name, id_number_hmac=r.id_hmac,
                id_number_ciphertext=identity.encrypt_id_number(r.id_number) if r.id_hmac else None,
                phone=r.phone, management=r.management, community_id=r.community_id,
                member_id=r.member_id, created_at=now, updated_at=now, imported_by_id=actor_id))
            result.created += 1
        else:
            changes = {"name": r.name, "management": r.management}
            if r.community_id is not None:
                changes["community_id"] = r.community_id
            if r.phone and e.phone != r.phone:
                changes["phone"] = r.phone
            if r.id_hmac and e.id_number_hmac is None:
                changes["id_number_hmac"] = r.id_hmac
                changes["id_number_ciphertext"] = identity.encrypt_id_number(r.id_number)
            if r.member_id is not None:
                changes["member_id"] = r.member_id
            changes = {k: v for k, v in changes.items() if getattr(e, k) != v}
            if changes:
                for k, v in changes.items():
                    setattr(e, k, v)
                e.updated_at = now
                result.updated += 1
            else:
                result.unchanged += 1
        if r.member_id is not None or (e is not None and e.member_id is not None):
            result.matched += 1
    db.session.flush()
