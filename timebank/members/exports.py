"""Export of the member directory to .xlsx.

Values that a spreadsheet would run as a formula (starting with = + - @, or a tab or carriage
return that some programs strip first) are written with a leading single quote, so a name like
``=HYPERLINK(...)`` typed into the registration form stays text when staff open the export.
Identifiers are masked as everywhere else.
"""
from __future__ import annotations

import io

from sqlalchemy import Select, select

from timebank.accounts.models import User
from timebank.core import crypto
from timebank.core.spreadsheet import neutralise
from timebank.core.validators import mask_phone
from timebank.extensions import db
from timebank.members import queries
from timebank.members.availability import format_availability
from timebank.members.models import (ID_NUMBER_CONTEXT, STATUS_LABELS, Member, MemberStatus,
                                     mask_id_number)
from timebank.orgs.models import OrgNode
from timebank.catalogue.models import PostCategory, PostKind

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADERS = ("姓名", "手机号", "身份证号", "社区", "网格", "工作单位", "状态", "特长", "其他特长",
           "爱好", "服务意愿", "空闲时间", "每月最多次数")
_BATCH = 2000


def _decrypt(token: str | None) -> str | None:
    return crypto.decrypt(token, ID_NUMBER_CONTEXT) if token else None


def directory_xlsx(stmt: Select) -> bytes:
    """``stmt``: :func:`queries.directory` with ``join_users=True``."""
    from timebank.members.models import Skill

    names = dict(db.session.execute(select(OrgNode.id, OrgNode.name)).all())
    skills = dict(db.session.execute(select(Skill.id, Skill.name)).all())
    willing_names = {("c", i): n for i, n in db.session.execute(
        select(PostCategory.id, PostCategory.name)).all()}
    willing_names |= {("k", i): n for i, n in db.session.execute(
        select(PostKind.id, PostKind.name)).all()}

    import openpyxl  # loaded on first export, not at every worker start (it pulls in numpy)

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("成员名录")
    ws.append(list(HEADERS))
    # Plain columns, not ORM objects: 20,000 rows stay cheap in memory.
    columns = stmt.with_only_columns(Member.id, User.name, User.phone, Member.id_number_ciphertext,
                                     Member.community_id, Member.grid_id, Member.unit_id,
                                     Member.status)
    offset = 0
    while True:
        batch = db.session.execute(columns.limit(_BATCH).offset(offset)).all()
        if not batch:
            break
        profiles = queries.profiles_for([m.id for m in batch])
        for m in batch:
            p = profiles.get(m.id)
            willing = ([willing_names.get(("c", i), "") for i in sorted(p.willing_category_ids)]
                       + [willing_names.get(("k", i), "") for i in sorted(p.willing_kind_ids)]
                       if p else [])
            row = [
                m.name, mask_phone(m.phone), mask_id_number(_decrypt(m.id_number_ciphertext)),
                names.get(m.community_id, ""), names.get(m.grid_id, ""),
                names.get(m.unit_id, ""), str(STATUS_LABELS[MemberStatus(m.status)]),
                "、".join(skills.get(i, "") for i in sorted(p.skill_ids)) if p else "",
                p.free_text_skills if p else "", p.hobbies if p else "", "、".join(willing),
                format_availability(p.availability) if p else "",
                p.max_sessions_per_month if p and p.max_sessions_per_month is not None else "",
            ]
            # Empty cells are left out of the file (openpyxl writes nothing for None).
            ws.append([neutralise(v) if v != "" else None for v in row])
        offset += _BATCH
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
