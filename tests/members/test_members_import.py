"""Bulk import of completed forms: good files, bad rows in both modes, re-import, hostile files,
10,000 rows, the template."""
from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from timebank.accounts.models import RoleAssignment, User
from timebank.members import availability, imports, queries, sheets
from timebank.members.models import Member, MemberProfile, MemberStatus

DATA = Path(__file__).resolve().parent.parent / "data"
HEADERS = [c.header for c in sheets.COLUMNS]


def xlsx_bytes(rows, headers=HEADERS) -> bytes:
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("报到登记")
    ws.append(headers)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def csv_bytes(rows, encoding="utf-8-sig", headers=HEADERS) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(headers)
    writer.writerows(rows)
    return buf.getvalue().encode(encoding)


def upload(client, data: bytes, filename="forms.xlsx", mode="all", community=None):
    return client.post("/members/import", data={
        "file": (io.BytesIO(data), filename), "mode": mode,
        "community_id": str(community.id)}, content_type="multipart/form-data")


def row(name, phone, number, unit="区人民医院", grid="第一网格", skills="医疗护理",
        free="", hobbies="", willing="爱心帮扶", avail="周末全天", maximum="4"):
    return [name, phone, number, unit, grid, skills, free, hobbies, willing, avail, maximum]


def counts(db):
    return tuple(db.session.execute(select(func.count()).select_from(t)).scalar_one()
                 for t in (User, Member, MemberProfile, RoleAssignment))


def snapshot(db):
    members = db.session.execute(select(
        Member.id, Member.user_id, Member.grid_id, Member.unit_id, Member.status,
        Member.profile_version, Member.id_number_hmac).order_by(Member.id)).all()
    profiles = db.session.execute(select(MemberProfile.id, MemberProfile.version)
                                  .order_by(MemberProfile.id)).all()
    return members, profiles, counts(db)


@pytest.mark.parametrize("name", ["members_sample.xlsx", "members_sample.csv"])
def test_sample_file_imports(client, db, district, name):
    client.login(district.staff)
    r = upload(client, (DATA / name).read_bytes(), name, community=district.C1)
    assert r.status_code == 200, r.text
    assert "20" in r.text
    members = db.session.execute(select(Member).where(
        Member.community_id == district.C1.id, Member.id_number_hmac.is_not(None))).scalars().all()
    assert len(members) == 20
    assert all(m.status == MemberStatus.APPROVED and m.user.has_role("member", district.C1)
               for m in members)
    wang = next(m for m in members if m.user.name == "王建华")
    assert wang.unit_id == district.U1.id and wang.grid_id == district.g1.id
    assert wang.user.password_hash is None  # sets a password by registering
    profile = queries.current_profile(wang)
    assert profile.skill_codes == {"nursing", "firstaid"}
    assert profile.free_text_skills == "会修自行车"
    assert profile.availability == {(d, "evening") for d in range(5)}
    assert profile.max_sessions_per_month == 2
    assert operations_source(wang) == "import"
    # Importing the same file again changes nothing.
    before = snapshot(db)
    r = upload(client, (DATA / name).read_bytes(), name, community=district.C1)
    assert r.status_code == 200
    assert snapshot(db) == before


def operations_source(member):
    from timebank.members.operations import current_profile_row

    return current_profile_row(member).source


def test_gb18030_csv(client, db, district, id_number):
    data = csv_bytes([row("欧阳娜娜", "13900000001", id_number())], encoding="gb18030")
    client.login(district.staff)
    r = upload(client, data, "forms.csv", community=district.C1)
    assert r.status_code == 200, r.text
    m = db.session.execute(select(Member).join(User, User.id == Member.user_id)
                           .where(User.name == "欧阳娜娜")).scalar_one()
    assert m.name_initials == "oynn"


def _bad_file(id_number, taken_number):
    good1 = row("好人一", "13900000001", id_number())
    good2 = row("好人二", "１３９ ０００ ００００２", " " + id_number() + " ")  # full-width, spaces
    bad = [
        row("错号码", "12345", id_number()),                       # row 4
        row("错证号", "13900000004", "110105194912310021"),          # row 5
        row("错单位", "13900000005", id_number(), unit="不存在的单位"),  # row 6
        row("错特长", "13900000006", id_number(), skills="医疗护理、飞行"),  # row 7
        row("错时间", "13900000007", id_number(), avail="周八上午"),   # row 8
        row("重复人", "13900000001", id_number()),                   # row 9 same phone as row 2
        row("", "13900000009", taken_number),                       # row 10: no name
    ]
    return xlsx_bytes([good1, good2, *bad])


def test_bad_rows_all_or_nothing_imports_nothing(client, db, district, id_number):
    client.login(district.staff)
    before = snapshot(db)
    r = upload(client, _bad_file(id_number, id_number()), mode="all", community=district.C1)
    assert r.status_code == 422
    assert snapshot(db) == before
    text = r.text
    for n, column in [(4, "手机号"), (5, "身份证号"), (6, "工作单位"), (7, "特长"),
                      (8, "空闲时间"), (10, "姓名")]:
        assert f"第 {n} 行" in text or f"Row {n}" in text or f"第{n}行" in text, n
        assert column in text
    assert "飞行" in text and "周八上午" in text


def test_bad_rows_valid_mode_imports_the_good_ones(client, db, district, id_number):
    client.login(district.staff)
    users_before = counts(db)[0]
    r = upload(client, _bad_file(id_number, id_number()), mode="valid", community=district.C1)
    assert r.status_code == 422
    names = set(db.session.execute(select(User.name)).scalars())
    assert {"好人一", "好人二"} <= names
    assert not names & {"错号码", "错证号", "错单位", "错特长", "错时间", "重复人"}
    assert counts(db)[0] == users_before + 2
    two = db.session.execute(select(User).where(User.name == "好人二")).scalar_one()
    assert two.phone == "13900000002"


def test_result_lists_row_and_column(app, db, district, id_number):
    rows = sheets.read_upload(io.BytesIO(_bad_file(id_number, id_number())), "x.xlsx")
    result = imports.import_rows(district.staff, district.C1, rows, all_or_nothing=True)
    by_row = {(e.row, e.column) for e in result.errors}
    assert {(4, "手机号"), (5, "身份证号"), (6, "工作单位"), (7, "特长"), (8, "空闲时间"),
            (9, ""), (10, "姓名")} <= by_row
    assert not result.committed and result.created == 0


def test_matching_existing_people(client, db, district, id_number):
    """Rows are matched on ID number or phone; conflicting rows are errors."""
    existing = queries.member_for_user(district.member)  # 党员甲, no ID number yet
    other = queries.member_for_user(district.member3)  # lives in C3
    from timebank.members import operations

    n3 = id_number()
    operations._set_id_number(other, n3)
    db.session.commit()
    client.login(district.staff)
    n1 = id_number()
    data = xlsx_bytes([
        # 党员甲 by phone: ID number added, grid moved, form stored.
        row("党员甲", district.member.phone, n1, grid="第二网格"),
        # The C3 member's ID number: already reported elsewhere.
        row("党员丙", "13900000003", n3),
        # Staff account without member record, same name: becomes a member.
        row("甲社区工作者", district.staff.phone, id_number()),
        # Someone else's phone with another name.
        row("冒名者", district.liaison.phone, id_number()),
    ])
    r = upload(client, data, mode="valid", community=district.C1)
    assert r.status_code == 422
    m = db.session.get(Member, existing.id)
    assert m.id_number == n1 and m.grid_id == district.g2.id and m.profile_version == 1
    assert queries.member_for_user(district.staff).community_id == district.C1.id
    assert queries.member_for_user(district.liaison) is None
    assert "丙社区" in r.text
    # A changed form makes a new version; the same file again changes nothing.
    changed = xlsx_bytes([row("党员甲", district.member.phone, n1, grid="第二网格",
                              skills="书法")])
    upload(client, changed, community=district.C1)
    assert db.session.get(Member, existing.id).profile_version == 2
    before = snapshot(db)
    upload(client, changed, community=district.C1)
    assert snapshot(db) == before


def test_staff_cannot_import_into_another_community(client, db, district, id_number):
    client.login(district.staff)
    r = upload(client, xlsx_bytes([row("某人", "13900000001", id_number())]),
               community=district.C3)
    assert r.status_code == 400
    assert db.session.execute(select(User).where(User.name == "某人")).first() is None


# --- hostile files -----------------------------------------------------------------------------


def _xlsx_with_part(name: str, content: bytes, base: bytes | None = None) -> bytes:
    """A real workbook with one part replaced."""
    base = base or xlsx_bytes([["张三", "13900000001", "110105198001010016"]])
    src = zipfile.ZipFile(io.BytesIO(base))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, content if item.filename == name else src.read(item.filename))
    return out.getvalue()


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>&x;</t></is></c></row></sheetData></worksheet>"""


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, XXE], ids=["entity-expansion", "xxe"])
@pytest.mark.parametrize("part", ["xl/worksheets/sheet1.xml", "[Content_Types].xml",
                                  "xl/workbook.xml"])
def test_xml_entity_attacks_fail_safely(client, db, district, payload, part, monkeypatch):
    data = _xlsx_with_part(part, payload)
    with pytest.raises(sheets.UploadRejected):
        sheets.read_upload(io.BytesIO(data), "x.xlsx")
    client.login(district.staff)
    before = counts(db)
    r = upload(client, data, community=district.C1)
    assert r.status_code == 400
    assert counts(db) == before


def test_zip_bomb_is_refused_before_openpyxl(db, district, monkeypatch):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", b"<Types/>")
        z.writestr("xl/workbook.xml", b"<workbook/>")
        # ~100 MB of zeros packs into about 100 KB.
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (100 * 1024 * 1024))
    data = out.getvalue()
    assert len(data) < sheets.MAX_UPLOAD_BYTES

    def boom(*a, **k):
        raise AssertionError("openpyxl must not see a zip bomb")

    import openpyxl

    monkeypatch.setattr(openpyxl, "load_workbook", boom)
    with pytest.raises(sheets.UploadRejected) as e:
        sheets.read_upload(io.BytesIO(data), "bomb.xlsx")
    assert "MB" in str(e.value.message)


def test_zip_that_lies_about_sizes_fails_safely(db, district):
    """Declared sizes patched small: zipfile stops at the declared size and fails the CRC."""
    padding = b" " * (30 * 1024 * 1024)
    sheet = (b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
             b'spreadsheetml/2006/main">' + padding + b"<sheetData/></worksheet>")
    data = bytearray(_xlsx_with_part("xl/worksheets/sheet1.xml", sheet))
    name = b"xl/worksheets/sheet1.xml"
    for sig, size_at, name_at in ((b"PK\x01\x02", 24, 46), (b"PK\x03\x04", 22, 30)):
        pos = 0
        while (pos := data.find(sig, pos)) != -1:
            if data[pos + name_at:pos + name_at + len(name)] == name:
                data[pos + size_at:pos + size_at + 4] = (4000).to_bytes(4, "little")
            pos += 4
    with pytest.raises(sheets.UploadRejected):
        sheets.read_upload(io.BytesIO(bytes(data)), "liar.xlsx")


PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + bytes(range(256)) * 4
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4


@pytest.mark.parametrize(("data", "filename"), [
    (PNG, "forms.xlsx"), (ELF, "forms.csv"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "forms.xlsx"),
], ids=["png-as-xlsx", "elf-as-csv", "old-xls"])
def test_renamed_binary_is_refused(client, db, district, data, filename):
    with pytest.raises(sheets.UploadRejected):
        sheets.read_upload(io.BytesIO(data), filename)
    client.login(district.staff)
    r = upload(client, data, filename, community=district.C1)
    assert r.status_code == 400


def test_other_zip_is_not_a_workbook(db, district):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", b'<?xml version="1.0"?><Types xmlns="x"/>')
        z.writestr("word/document.xml", b"<document/>")
    with pytest.raises(sheets.UploadRejected):
        sheets.read_upload(io.BytesIO(out.getvalue()), "forms.xlsx")


def test_xlsx_named_csv_is_read_as_xlsx(db, district, id_number):
    data = xlsx_bytes([row("张三", "13900000001", id_number())])
    rows = sheets.read_upload(io.BytesIO(data), "forms.csv")
    assert rows[0][1]["name"] == "张三"


def test_too_large_and_empty_files(db, district):
    with pytest.raises(sheets.UploadRejected):
        sheets.read_upload(io.BytesIO(b"a" * (sheets.MAX_UPLOAD_BYTES + 1)), "big.csv")
    with pytest.raises(sheets.UploadRejected):
        sheets.read_upload(io.BytesIO(b""), "empty.csv")
    with pytest.raises(sheets.UploadRejected):
        sheets.read_upload(io.BytesIO("姓名,手机号\n张三,1\n".encode()), "missing.csv")


def test_template_downloads(client, db, district):
    client.login(district.staff)
    r = client.get("/members/import/template.xlsx")
    assert r.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(r.data))
    assert [c.value for c in wb["报到登记"][1]] == HEADERS
    assert "医疗护理" in [c.value for c in wb["名单"]["A"]]
    r = client.get("/members/import/template.csv")
    assert r.data.decode("utf-8-sig").strip() == ",".join(HEADERS)
    assert client.get("/members/import/template.pdf").status_code == 404
    # The empty template imports as zero rows.
    rows = sheets.read_upload(io.BytesIO(client.get("/members/import/template.xlsx").data), "")
    assert rows == []


@pytest.mark.parametrize(("text", "cells"), [
    ("周一上午、周三晚上", {(0, "morning"), (2, "evening")}),
    ("工作日晚上", {(d, "evening") for d in range(5)}),
    ("周末全天", {(d, s) for d in (5, 6) for s in ("morning", "afternoon", "evening")}),
    ("周一至周三下午", {(d, "afternoon") for d in range(3)}),
    ("星期天", {(6, s) for s in ("morning", "afternoon", "evening")}),
    ("", set()),
])
def test_availability_text(text, cells):
    assert availability.parse_availability(text) == cells
    assert availability.parse_availability(availability.format_availability(cells)) == cells


@pytest.mark.parametrize("text", ["周八", "周一凌晨", "周五至周一上午", "有空就行"])
def test_availability_text_rejected(text):
    with pytest.raises(ValueError):
        availability.parse_availability(text)


@pytest.mark.slow
def test_ten_thousand_rows(client, db, district, id_number):
    rows = [row(f"成员{i:05d}", f"1390{i:07d}", id_number(i + 1),
                unit=("区人民医院", "区第一中学", "")[i % 3], grid=("第一网格", "第二网格")[i % 2],
                skills=("医疗护理", "书法、摄影摄像", "")[i % 3],
                avail=("工作日晚上", "周末全天", "")[i % 3], maximum=str(i % 9))
            for i in range(10_000)]
    data = xlsx_bytes(rows)
    client.login(district.staff)
    r = upload(client, data, community=district.C1)
    assert r.status_code == 200, r.text[:2000]
    n = db.session.execute(select(func.count()).select_from(Member).where(
        Member.community_id == district.C1.id)).scalar_one()
    assert n == 10_000 + 1  # plus 党员甲
    before = snapshot(db)
    r = upload(client, data, community=district.C1)
    assert r.status_code == 200
    assert snapshot(db) == before
