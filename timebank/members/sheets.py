"""The registration-form spreadsheet: its columns, reading an uploaded file, the blank template.

Reading is defensive because the file comes from outside:

* the size is capped before anything is parsed;
* the type is decided by the content, never the name (a renamed binary is refused);
* an .xlsx is a zip: its entry count and declared unpacked sizes are checked *before* openpyxl
  opens it. ``zipfile`` never returns more bytes than an entry declares (it fails the CRC
  instead), so the declared total bounds the real one and a zip bomb stops here;
* every XML part is first parsed with defusedxml with DTDs forbidden, so entity expansion
  ("billion laughs") and external entities fail safely; openpyxl itself also uses defusedxml;
* .csv is UTF-8 (with or without BOM) or GB18030 (what Excel on Chinese Windows writes).
"""
from __future__ import annotations

import csv
import dataclasses
import io
import re
import zipfile
from collections.abc import Iterable

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET
from flask_babel import lazy_gettext as _l

from timebank.catalogue import queries as catalogue_queries
from timebank.core.errors import Invalid
from timebank.core.spreadsheet import neutralise
from timebank.members import queries

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
MAX_ZIP_ENTRIES = 500
MAX_UNPACKED_BYTES = 80 * 1024 * 1024
MAX_COLUMNS = 40

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


class UploadRejected(Invalid):
    code = "upload_rejected"


def read_upload(stream, filename: str = "", rows_from=None) -> list[tuple[int, dict[str, str]]]:
    """``[(row number in the file, {column key: text})]`` or :class:`UploadRejected`.

    ``rows_from`` maps the raw cell rows to keyed rows (default: this form's headings); another
    feature's sheet (the units' roster) passes its own and keeps the same upload safety."""
    rows_from = rows_from or _rows_from
    data = stream.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadRejected(_l("The file is larger than %(mb)d MB.",
                                mb=MAX_UPLOAD_BYTES // (1024 * 1024)), field="file")
    if not data.strip():
        raise UploadRejected(_l("The file is empty."), field="file")
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data, rows_from)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise UploadRejected(_l("Old .xls files are not supported: save the file as .xlsx "
                                "(Excel workbook) and upload it again."), field="file")
    return _read_csv(data, rows_from)


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


def _read_xlsx(data: bytes, rows_from) -> list[tuple[int, dict[str, str]]]:
    _check_zip(data)
    import openpyxl  # loaded on first import of a sheet, not at every worker start

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds on damaged files; none is worth more detail
        raise UploadRejected(_l("The workbook could not be read; open it in Excel, save it "
                                "again and retry."), field="file") from None
    try:
        if not workbook.worksheets:
            raise UploadRejected(_l("The workbook has no sheet."), field="file")
        rows = workbook.worksheets[0].iter_rows(max_col=MAX_COLUMNS, values_only=True)
        return rows_from(([_cell_text(v) for v in row] for row in rows))
    except UploadRejected:
        raise
    except Exception:  # damaged parts (bad CRC, broken XML) surface only while reading rows
        raise UploadRejected(_l("The workbook could not be read; open it in Excel, save it "
                                "again and retry."), field="file") from None
    finally:
        workbook.close()


def _read_csv(data: bytes, rows_from) -> list[tuple[int, dict[str, str]]]:
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
        return rows_from(([c.strip() for c in row[:MAX_COLUMNS]] for row in reader))
    except csv.Error:
        raise UploadRejected(_l("The CSV file is malformed (check the quotes)."),
                             field="file") from None


def mapped_rows(rows: Iterable[list[str]], headers: dict, missing, no_heading
                ) -> list[tuple[int, dict[str, str]]]:
    """Find the heading row (the first of the first 5 naming 姓名), then map each data row by
    heading; the one reader behind the member import and the units' roster import.
    ``headers`` maps heading text to a column (``.key``); ``missing(keys)`` lists the headings a
    found heading row lacks; ``no_heading`` is the message when there is none."""
    mapping: dict[int, str] | None = None
    out = []
    for number, cells in enumerate(rows, start=1):
        if mapping is None:
            if number > 5:
                break
            found = {i: headers[c.strip()].key for i, c in enumerate(cells)
                     if c and c.strip() in headers}
            if "name" in found.values():
                lacking = missing(set(found.values()))
                if lacking:
                    raise UploadRejected(_l("Required columns are missing: %(cols)s. Use the "
                                            "template.", cols="、".join(lacking)), field="file")
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
        raise UploadRejected(no_heading, field="file")
    return out


def _rows_from(rows: Iterable[list[str]]) -> list[tuple[int, dict[str, str]]]:
    """The member import's columns (see ``mapped_rows``)."""
    return mapped_rows(
        rows, HEADERS, lambda keys: [c.header for c in REQUIRED if c.key not in keys],
        _l("No heading row with 姓名, 手机号 and 身份证号 was found in the first rows. Use the "
           "template."))


def template_xlsx() -> bytes:
    import openpyxl
    from openpyxl.styles import Font

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
    kinds = [k.name for k in catalogue_queries.kinds_for()]
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
