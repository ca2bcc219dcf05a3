"""Bulk import of completed registration forms (.xlsx or .csv) by community staff.

Reading is defensive because the file comes from outside:

* the size is capped before anything is parsed;
* the type is decided by the content, never the name (a renamed binary is refused);
* an .xlsx is a zip: its entry count and declared unpacked sizes are checked *before* openpyxl
  opens it. ``zipfile`` never returns more bytes than an entry declares (it fails the CRC
  instead), so the declared total bounds the real one and a zip bomb stops here;
* every XML part is first parsed with defusedxml with DTDs forbidden, so entity expansion
  ("billion laughs") and external entities fail safely; openpyxl itself also uses defusedxml;
* .csv is UTF-8 (with or without BOM) or GB18030 (what Excel on Chinese Windows writes).

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

import csv
import dataclasses
import io
import re
import zipfile
from collections.abc import Iterable

import openpyxl
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from timebank.accounts.models import Role, RoleAssignment, User
from timebank.audit import operations as audit
from timebank.catalogue import queries as catalogue_queries
from timebank.core import clock
from timebank.core.errors import Conflict, Invalid
from timebank.core.validators import is_cn_mobile, normalize_phone
from timebank.extensions import db
from timebank.members import identity, queries
from timebank.members.queries import in_list
from timebank.members.models import (SLOTS, Member, MemberProfile, MemberStatus, ProfileSource,
                                     availability_to_mask, member_profile_categories,
                                     member_profile_kinds, member_profile_skills)
from timebank.orgs.models import OrgKind, OrgNode

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
MAX_ZIP_ENTRIES = 500
MAX_UNPACKED_BYTES = 80 * 1024 * 1024
MAX_COLUMNS = 40
_CHUNK = 900  # keys per IN list when looking rows up

XLSX_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


@dataclasses.dataclass(frozen=True)
class Column:
    key: str
    header: str  # the Chinese column heading in the file
    required: bool
    hint: str  # for the instructions sheet of the template


COLUMNS = (
    Column("name", "姓名", True, "必填"),
    Column("phone", "手机号", True, "必填，11位手机号"),
    Column("id_number", "身份证号", True, "必填，18位；请将单元格设为文本，避免被改成科学计数法"),
    Column("unit", "工作单位", False, "本区驻区单位的名称（见“单位名单”）；区外单位留空"),
    Column("grid", "网格", False, "本社区网格名称，如“第一网格”"),
    Column("skills", "特长", False, "从“特长名单”中选择，多个用顿号、逗号分隔"),
    Column("free_text_skills", "其他特长", False, "名单以外的特长，自由填写"),
    Column("hobbies", "爱好", False, "自由填写"),
    Column("willing", "服务意愿", False, "岗位类别或岗位名称，如“便民服务、理发义剪”"),
    Column("availability", "空闲时间", False,
           "如“周一上午、周三晚上”“工作日晚上”“周末全天”“周一至周五下午”"),
    Column("max_sessions", "每月最多次数", False, "0-31 的整数"),
)
HEADERS = {c.header: c for c in COLUMNS}
REQUIRED = [c for c in COLUMNS if c.required]
_SPLIT = re.compile(r"[、,，;；/\s]+")

DAY_NAMES = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
SLOT_NAMES = {"morning": "上午", "afternoon": "下午", "evening": "晚上"}
_DAY_WORDS = {f"{p}{c}": i for p in ("周", "星期", "礼拜")
              for i, c in enumerate("一二三四五六日")} | {"周天": 6, "星期天": 6, "礼拜天": 6}
_DAY_GROUPS = {"工作日": range(0, 5), "周末": range(5, 7), "每天": range(7), "每日": range(7)}
_SLOT_WORDS = {"上午": ("morning",), "早上": ("morning",), "下午": ("afternoon",),
               "晚上": ("evening",), "夜间": ("evening",), "全天": SLOTS, "": SLOTS}


class UploadRejected(Invalid):
    code = "upload_rejected"


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


# --- reading -----------------------------------------------------------------------------------


def read_upload(stream, filename: str = "") -> list[tuple[int, dict[str, str]]]:
    """``[(row number in the file, {column key: text})]`` or :class:`UploadRejected`."""
    data = stream.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadRejected(_l("The file is larger than %(mb)d MB.",
                                mb=MAX_UPLOAD_BYTES // (1024 * 1024)), field="file")
    if not data.strip():
        raise UploadRejected(_l("The file is empty."), field="file")
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise UploadRejected(_l("Old .xls files are not supported: save the file as .xlsx "
                                "(Excel workbook) and upload it again."), field="file")
    return _read_csv(data)


def _check_zip(data: bytes) -> zipfile.ZipFile:
    not_xlsx = UploadRejected(_l("The file is not an Excel .xlsx workbook or a CSV file."),
                              field="file")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise not_xlsx from None
    if len(entries) > MAX_ZIP_ENTRIES:
        raise UploadRejected(_l("The workbook has too many parts to be a form."), field="file")
    if sum(e.file_size for e in entries) > MAX_UNPACKED_BYTES:
        raise UploadRejected(_l("The workbook unpacks to more than %(mb)d MB; split it into "
                                "smaller files.", mb=MAX_UNPACKED_BYTES // (1024 * 1024)),
                             field="file")
    if any(e.flag_bits & 0x1 for e in entries):
        raise UploadRejected(_l("The workbook is password-protected; remove the password and "
                                "upload it again."), field="file")
    names = {e.filename for e in entries}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise not_xlsx
    for entry in entries:
        if entry.filename.endswith((".xml", ".rels", ".vml")):
            _check_xml_part(archive, entry.filename)
    try:
        types = SafeET.fromstring(archive.read("[Content_Types].xml"), forbid_dtd=True)
    except (DefusedXmlException, SafeET.ParseError):
        raise not_xlsx from None
    if not any(el.get("ContentType") == XLSX_SHEET_TYPE for el in types):
        raise not_xlsx
    return archive


def _check_xml_part(archive: zipfile.ZipFile, name: str) -> None:
    """A DTD may only appear before the root element, so parsing stops at the first element."""
    try:
        with archive.open(name) as fh:
            for _event, _el in SafeET.iterparse(fh, events=("start",), forbid_dtd=True):
                break
    except (DefusedXmlException, SafeET.ParseError, zipfile.BadZipFile, OSError,
            NotImplementedError, EOFError, RuntimeError):
        raise UploadRejected(_l("The workbook contains unsafe or damaged content and was not "
                                "read."), field="file") from None


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).strip()


def _read_xlsx(data: bytes) -> list[tuple[int, dict[str, str]]]:
    _check_zip(data)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds on damaged files; none is worth more detail
        raise UploadRejected(_l("The workbook could not be read; open it in Excel, save it "
                                "again and retry."), field="file") from None
    try:
        if not workbook.worksheets:
            raise UploadRejected(_l("The workbook has no sheet."), field="file")
        rows = workbook.worksheets[0].iter_rows(max_col=MAX_COLUMNS, values_only=True)
        return _rows_from(([_cell_text(v) for v in row] for row in rows))
    except UploadRejected:
        raise
    except Exception:  # damaged parts (bad CRC, broken XML) surface only while reading rows
        raise UploadRejected(_l("The workbook could not be read; open it in Excel, save it "
                                "again and retry."), field="file") from None
    finally:
        workbook.close()


def _read_csv(data: bytes) -> list[tuple[int, dict[str, str]]]:
    raw = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    for encoding in ("utf-8", "gb18030"):  # GB18030: what Excel on Chinese Windows writes
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UploadRejected(_l("The file is not an Excel .xlsx workbook or a CSV file."),
                             field="file")
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text):
        raise UploadRejected(_l("The file is not an Excel .xlsx workbook or a CSV file."),
                             field="file")
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        return _rows_from(([c.strip() for c in row[:MAX_COLUMNS]] for row in reader))
    except csv.Error:
        raise UploadRejected(_l("The CSV file is malformed (check the quotes)."),
                             field="file") from None


def _rows_from(rows: Iterable[list[str]]) -> list[tuple[int, dict[str, str]]]:
    """Find the header row (within the first 5), then map each data row by heading."""
    mapping: dict[int, str] | None = None
    out = []
    for number, cells in enumerate(rows, start=1):
        if mapping is None:
            if number > 5:
                break
            found = {i: HEADERS[c.strip()].key for i, c in enumerate(cells)
                     if c and c.strip() in HEADERS}
            if any(k == "name" for k in found.values()):
                missing = [c.header for c in REQUIRED if c.key not in found.values()]
                if missing:
                    raise UploadRejected(_l("Required columns are missing: %(cols)s. Use the "
                                            "template.", cols="、".join(missing)), field="file")
                mapping = found
            continue
        if not any(c for c in cells):
            continue
        if len(out) >= MAX_ROWS:
            raise UploadRejected(_l("At most %(n)d rows per file; split the file.", n=MAX_ROWS),
                                 field="file")
        out.append((number, {key: (cells[i] if i < len(cells) else "")
                             for i, key in mapping.items()}))
    if mapping is None:
        raise UploadRejected(_l("No heading row with 姓名, 手机号 and 身份证号 was found in the "
                                "first rows. Use the template."), field="file")
    return out


# --- parsing cells -----------------------------------------------------------------------------


def parse_availability(text: str) -> set[tuple[int, str]]:
    """"周一上午、工作日晚上、周六至周日全天" -> {(0, "morning"), ...}; ValueError if unreadable."""
    cells: set[tuple[int, str]] = set()
    for token in _SPLIT.split(text.strip()):
        if not token:
            continue
        days, rest = _parse_days(token)
        if rest not in _SLOT_WORDS:
            raise ValueError(token)
        cells.update((d, s) for d in days for s in _SLOT_WORDS[rest])
    return cells


def _parse_days(token: str) -> tuple[range | list[int], str]:
    for word, days in _DAY_GROUPS.items():
        if token.startswith(word):
            return days, token[len(word):]
    m = re.match(r"^(周.|星期.|礼拜.)(?:[至到~\-－—](周.|星期.|礼拜.))?(.*)$", token)
    if not m or m.group(1) not in _DAY_WORDS:
        raise ValueError(token)
    first = _DAY_WORDS[m.group(1)]
    if m.group(2) is None:
        return [first], m.group(3)
    if m.group(2) not in _DAY_WORDS or _DAY_WORDS[m.group(2)] < first:
        raise ValueError(token)
    return range(first, _DAY_WORDS[m.group(2)] + 1), m.group(3)


def format_availability(cells: Iterable[tuple[int, str]]) -> str:
    by_day: dict[int, list[str]] = {}
    for day, slot in sorted(cells, key=lambda c: (c[0], SLOTS.index(c[1]))):
        by_day.setdefault(day, []).append(slot)
    parts = []
    for day, slots in by_day.items():
        if len(slots) == len(SLOTS):
            parts.append(f"{DAY_NAMES[day]}全天")
        else:
            parts.extend(f"{DAY_NAMES[day]}{SLOT_NAMES[s]}" for s in slots)
    return "、".join(parts)


def split_list(text: str) -> list[str]:
    return [t for t in _SPLIT.split(text.strip()) if t]


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
        self.kinds = {k.name: k.id for k in queries.kinds_for(community.id)}


def _validate(row: int, cells: dict[str, str], lk: _Lookups,
              errors: list[RowError]) -> _Clean | None:
    before = len(errors)

    def err(key: str, message) -> None:
        header = next(c.header for c in COLUMNS if c.key == key) if key else ""
        errors.append(RowError(row, header, str(message)))

    def get(key: str) -> str:
        return (cells.get(key) or "").strip()

    name = " ".join(get("name").split())
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


# --- templates ---------------------------------------------------------------------------------


def template_xlsx() -> bytes:
    from openpyxl.styles import Font

    from timebank.members.exports import neutralise

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "报到登记"
    ws.append([c.header for c in COLUMNS])
    for i, c in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=1, column=i)
        cell.font = Font(bold=True, color="C8161D" if c.required else "000000")
        letter = cell.column_letter
        ws.column_dimensions[letter].width = 22 if c.key in ("id_number", "availability",
                                                              "willing", "skills") else 14
        if c.key in ("phone", "id_number"):
            # Text format: Excel would otherwise turn an 18-digit number into 1.10105E+17.
            for row in range(2, 2002):
                ws.cell(row=row, column=i).number_format = "@"
    ws.freeze_panes = "A2"
    help_ws = wb.create_sheet("填写说明")
    help_ws.append(["列名", "说明"])
    for c in COLUMNS:
        help_ws.append([c.header, c.hint])
    help_ws.column_dimensions["A"].width = 14
    help_ws.column_dimensions["B"].width = 80
    lists = wb.create_sheet("名单")
    lists.append(["特长名单", "岗位类别", "岗位名称", "单位名单"])
    skills = [s.name for s in queries.skills()]
    cats = [c.name for c in catalogue_queries.categories()]
    kinds = [k.name for k in queries.kinds_for(None)]
    units = [u.name for u in queries.active_units()]
    for i in range(max(len(skills), len(cats), len(kinds), len(units), 0)):
        lists.append([neutralise(seq[i]) if i < len(seq) else None
                      for seq in (skills, cats, kinds, units)])
    for letter in "ABCD":
        lists.column_dimensions[letter].width = 20
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def template_csv() -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerow([c.header for c in COLUMNS])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
