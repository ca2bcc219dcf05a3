"""Feedback cards and dashboard figures as .xlsx, and cards as PDF.

PDF text goes through ``core.pdf.para`` (names and staff notes are users' text). Spreadsheet cells that a spreadsheet would run as a formula (= + - @, tab, carriage
return at the start) are written with a leading single quote."""
from __future__ import annotations

import io

from flask_babel import gettext as _

from timebank.core import clock
from timebank.core.pdf import FONT as PDF_FONT
from timebank.core.pdf import para, register_font
from timebank.core.spreadsheet import XLSX_MIMETYPE  # noqa: F401  (the views send it)
from timebank.core.spreadsheet import hours_value
from timebank.core.spreadsheet import neutralise as safe_cell
from timebank.reports.queries import Card



def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.0f}%"


def _state_label(state: str) -> str:
    from timebank.members.views import STATE_LABELS

    return str(STATE_LABELS.get(state, state))


def card_title(card: Card) -> str:
    return _("Performance feedback card: %(unit)s, %(start)s to %(end)s", unit=card.unit_name,
             start=card.start.isoformat(), end=card.last_day.isoformat())


def card_summary(card: Card) -> list[tuple[str, str]]:
    """The card's headline figures, each under its measure's label (timebank.measures)."""
    from timebank.core.web import hours

    t = card.totals
    out = [
        (_label("registered_members"), str(card.registered)),
        (_label("reported_members"), f"{card.reported} ({_pct(card.reported_rate)})"),
        (_label("active_members"), f"{card.active} ({_pct(card.active_rate)})"),
        (_("Sessions claimed / attended / missed"),
         f"{t['claimed']} / {t['attended']} / {t['no_shows']}"),
        (_label("verified_service_minutes"), _("%(h)s hours", h=hours(t["minutes"]))),
    ]
    if t["historical"]:
        out.append((_label("historical_minutes"), _("%(h)s hours", h=hours(t["historical"]))))
    return out


def _headers() -> list[str]:
    return [_("Member name"), _("Community"), _("Reporting"), _("Sessions claimed"), _("Sessions attended"),
            _("No-shows"), _label("verified_service_minutes"), _("Staff notes")]


def _row(r) -> list:
    return [r.name, r.community, _state_label(r.state), r.claimed, r.attended, r.no_shows,
            hours_value(r.minutes), "\n".join(r.notes)]


def card_xlsx(card: Card) -> bytes:
    from openpyxl import Workbook  # loaded on first export, not at every worker start

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("Feedback card")[:31])
    ws.append([safe_cell(card_title(card))])
    for label, value in card_summary(card):
        ws.append([safe_cell(label), safe_cell(value)])
    ws.append([_("Generated at"), clock.to_local(clock.now()).strftime("%Y-%m-%d %H:%M")])
    ws.append([])
    ws.append(_headers())
    for r in card.rows:
        ws.append([safe_cell(v) for v in _row(r)])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def card_pdf(card: Card) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate, Spacer, Table, TableStyle

    register_font()
    title = ParagraphStyle("title", fontName=PDF_FONT, fontSize=15, leading=21)
    text = ParagraphStyle("text", fontName=PDF_FONT, fontSize=9, leading=13)
    cell = ParagraphStyle("cell", fontName=PDF_FONT, fontSize=8, leading=10)

    story = [para(card_title(card), title), Spacer(1, 2 * mm)]
    for label, value in card_summary(card):
        story.append(para(f"{label}：{value}", text))
    story.append(Spacer(1, 4 * mm))
    data = [[para(h, cell) for h in _headers()]]
    for r in card.rows:
        values = _row(r)
        data.append([para(v, cell) for v in values])
    if len(data) == 1:
        data.append([para(_("No members registered with this unit."), cell)]
                    + [""] * 7)
    table = Table(data, repeatRows=1, colWidths=[24 * mm, 30 * mm, 26 * mm, 18 * mm, 16 * mm,
                                                 16 * mm, 18 * mm, 115 * mm])
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), PDF_FONT),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f2f2f2")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    story.append(table)
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=landscape(A4), leftMargin=10 * mm,
                            rightMargin=10 * mm, topMargin=12 * mm, bottomMargin=12 * mm,
                            title=card_title(card), author=_("Time Bank"))
    doc.build(story)
    return out.getvalue()


def _label(name: str) -> str:
    from timebank import measures

    return measures.label(name)


def dashboard_xlsx(d) -> bytes:
    """The dashboard's figures, one sheet per table on the page, each with its total row; column
    heads are the measures' labels (the same as on the page)."""
    from openpyxl import Workbook  # loaded on first export, not at every worker start

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("Communities")[:31])
    ws.append([safe_cell(d.scope.full_name or d.scope.name), d.year])
    ws.append([_("Community"), _label("registered_members"), _label("reported_members"),
               _label("report_rate"), _label("active_members"), _label("verified_service_minutes"),
               _label("service_sessions"), _label("historical_minutes"), _("Open needs"),
               _("Posts with places left")])
    for c in d.communities:
        ws.append([safe_cell(c.name), c.registered, c.reported, _pct(c.reported_rate), c.active,
                   hours_value(c.minutes), c.sessions, hours_value(c.historical), c.open_needs,
                   c.unfilled_posts])
    ws.append([_("Total"), d.total("registered"), d.total("reported"), "", d.total("active"),
               hours_value(d.total("minutes")), d.total("sessions"),
               hours_value(d.total("historical")), d.total("open_needs"),
               d.total("unfilled_posts")])
    ws = wb.create_sheet(_("Units")[:31])
    ws.append([_("Work unit"), _label("registered_members"), _label("reported_members"),
               _label("report_rate"), _label("active_members"), _label("verified_service_minutes"),
               _label("service_sessions"), _label("historical_minutes")])
    for u in d.units:
        ws.append([safe_cell(u.name), u.registered, u.reported, _pct(u.reported_rate), u.active,
                   hours_value(u.minutes), u.sessions, hours_value(u.historical)])
    ws.append([_("Total")] + [sum(getattr(u, a) for u in d.units)
                              for a in ("registered", "reported")] + [""]
              + [sum(u.active for u in d.units), hours_value(sum(u.minutes for u in d.units)),
                 sum(u.sessions for u in d.units),
                 hours_value(sum(u.historical for u in d.units))])
    ws = wb.create_sheet(_("Months")[:31])
    ws.append([_("Month"), _("Places offered"), _("Claimed"), _label("claim_rate"),
               _("Sessions attended"), _("No-shows"), _label("attendance_rate")]
              + [safe_cell(name) for _id, name in d.categories] + [_("Other"),
                                                                   _label("verified_service_minutes")])
    for m in d.months:
        ws.append([m.month, m.places, m.claimed, _pct(m.claim_rate), m.attended, m.no_shows,
                   _pct(m.attendance_rate)]
                  + [hours_value(m.minutes_by_category.get(cid, 0)) for cid, _n in d.categories]
                  + [hours_value(m.minutes_by_category.get(0, 0)), hours_value(m.minutes)])
    by_cat = d.minutes_by_category
    ws.append([_("Year"), d.month_total("places"), d.month_total("claimed"), _pct(d.claim_rate),
               d.month_total("attended"), d.month_total("no_shows"), _pct(d.attendance_rate)]
              + [hours_value(by_cat.get(cid, 0)) for cid, _n in d.categories]
              + [hours_value(by_cat.get(0, 0)), hours_value(d.month_total("minutes"))])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
