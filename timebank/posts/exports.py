"""The activity registration card as an .xlsx workbook."""
from __future__ import annotations

import io

from flask_babel import gettext as _

from timebank.core import clock
from timebank.core.spreadsheet import XLSX_MIMETYPE  # noqa: F401  (the views send it)
from timebank.core.spreadsheet import hours_value
from timebank.core.spreadsheet import neutralise as safe_cell



def card_filename(card) -> str:
    return f"{_('Activity card')}-{card.member.user.name}.xlsx"


def card_xlsx(card) -> bytes:
    from openpyxl import Workbook  # loaded on first export, not at every worker start
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = _("Activity card")[:31]
    member = card.member
    ws.append([safe_cell(_("Activity registration card"))])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([_("Name"), safe_cell(member.user.name), _("Community"),
               safe_cell(member.community.full_name)])
    ws.append([_("Verified hours"), hours_value(card.verified_minutes), _("Awaiting verification"),
               hours_value(card.pending_minutes)])
    ws.append([])
    header = [_("Date"), _("Time"), _("Post"), _("Kind"), _("Community"), _("Place"),
              _("Status"), _("Verification"), _("Hours")]
    ws.append(header)
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    for r in card.rows:
        start, end = clock.to_local(r.started_at), clock.to_local(r.ended_at)
        ws.append([start.strftime("%Y-%m-%d"), f"{start:%H:%M}-{end:%H:%M}", safe_cell(r.title),
                   safe_cell(r.kind), safe_cell(r.community), safe_cell(r.place),
                   safe_cell(r.status), safe_cell(r.record_status or ""), hours_value(r.minutes)])
    for column, width in zip("ABCDEFGHI", (12, 12, 28, 16, 16, 20, 12, 12, 8)):
        ws.column_dimensions[column].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
