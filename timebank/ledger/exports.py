"""A member's statement as .xlsx and PDF (every PDF text through ``core.pdf.para``: reasons,
names and relay messages are users' text)."""
from __future__ import annotations

import io

from flask_babel import gettext as _

from timebank.core import clock
from timebank.core.pdf import FONT as PDF_FONT
from timebank.core.pdf import para, register_font
from timebank.core.spreadsheet import hours_value, neutralise
from timebank.ledger import queries
from timebank.ledger.models import TxKind
from timebank.ledger.util import format_hours
from timebank.members.models import Member


def _rows(member: Member):
    """The entries in the page's order (:func:`queries.statement`)."""
    account = queries.account_for_member(member)
    for e in queries.all_entries(account.id if account else None, by_service_date=True):
        detail = e.reason
        if e.beneficiary:
            detail = f"{detail}（{_('for %(name)s', name=e.beneficiary)}）"
        if e.reverses_id:
            detail = f"{detail}（{_('reverses entry %(id)d', id=e.reverses_id)}）"
        yield e, detail


def _title(member: Member) -> list[str]:
    from timebank.core import figures as measures

    figures = queries.member_figures(member)
    lines = [
        _("Time bank statement"),
        f"{member.user.name} · {member.community.full_name}",
        _("Spendable balance: %(h)s hours; verified service: %(s)s hours",
          h=format_hours(figures.balance_minutes),
          s=format_hours(measures.value("verified_service_minutes", member=member))),
    ]
    historical = measures.value("historical_minutes", member=member)
    if historical:
        lines.append(f"{measures.label('historical_minutes')}：{_('%(h)s hours', h=format_hours(historical))}")
    lines.append(_("Generated %(at)s", at=clock.local_now().strftime("%Y-%m-%d %H:%M")))
    return lines


def _headers() -> list[str]:
    return [_("Date"), _("Entry"), _("Type"), _("Details"), _("Counterparty"),
            _("Change (hours)"), _("Balance after (hours)")]


def statement_xlsx(member: Member) -> io.BytesIO:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = _("Statement")[:31]
    for line in _title(member):
        ws.append([neutralise(line)])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([])
    ws.append(_headers())
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    for e, detail in _rows(member):
        # Reasons, relay messages and names are typed by people: a cell starting with "=" must
        # stay text in Excel.
        ws.append([clock.to_local(e.date).strftime("%Y-%m-%d %H:%M"), e.transaction_id,
                   TxKind(e.kind).label, neutralise(detail), neutralise("、".join(e.counterparties)),
                   hours_value(e.amount), hours_value(e.balance_after)])
    for column, width in zip("ABCDEFG", (18, 8, 10, 40, 20, 12, 14)):
        ws.column_dimensions[column].width = width
    out = io.BytesIO()
    wb.save(out)
    out.seek(0)
    return out


def statement_pdf(member: Member) -> io.BytesIO:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate, Spacer, Table, TableStyle

    register_font()
    title_style = ParagraphStyle("title", fontName=PDF_FONT, fontSize=16, leading=22)
    text = ParagraphStyle("text", fontName=PDF_FONT, fontSize=9, leading=12)
    cell = ParagraphStyle("cell", fontName=PDF_FONT, fontSize=8, leading=10)

    lines = _title(member)
    story = [para(lines[0], title_style)] + [para(x, text) for x in lines[1:]]
    story.append(Spacer(1, 5 * mm))
    headers = _headers()[:7]
    data = [[para(h, cell) for h in headers]]
    for e, detail in _rows(member):
        data.append([clock.to_local(e.date).strftime("%Y-%m-%d %H:%M"), str(e.transaction_id),
                     para(TxKind(e.kind).label, cell), para(detail, cell),
                     para("、".join(e.counterparties), cell),
                     ("+" if e.amount > 0 else "") + format_hours(e.amount),
                     format_hours(e.balance_after)])
    if len(data) == 1:
        data.append(["", "", "", para(_("No entries yet."), cell), "", "", ""])
    table = Table(data, repeatRows=1, colWidths=[28 * mm, 12 * mm, 16 * mm, 52 * mm, 30 * mm,
                                                 18 * mm, 22 * mm])
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), PDF_FONT),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f2f2f2")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ALIGN", (5, 1), (6, -1), "RIGHT"),
    ]))
    story.append(table)
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=14 * mm, bottomMargin=14 * mm,
                            title=lines[0], author=_("Time Bank"))
    doc.build(story)
    out.seek(0)
    return out
