"""The certificate as a PDF (reportlab), drawn from the content stored when it was issued, so
every download prints the same data. Every text goes through ``core.pdf.para`` (names, titles
and places are users' text)."""
from __future__ import annotations

import io

import segno
from flask_babel import gettext as _

from timebank.certificates.models import Certificate
from timebank.core.pdf import FONT, para, register_font
from timebank.ledger.util import format_hours as _hours


def qr_png(url: str) -> io.BytesIO:
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=8, border=4)
    out.seek(0)
    return out


def render(cert: Certificate, verify_url: str) -> io.BytesIO:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, SimpleDocTemplate, Spacer, Table, TableStyle

    register_font()
    c = cert.content
    title = ParagraphStyle("title", fontName=FONT, fontSize=20, leading=28, alignment=TA_CENTER)
    text = ParagraphStyle("text", fontName=FONT, fontSize=10.5, leading=16)
    small = ParagraphStyle("small", fontName=FONT, fontSize=8, leading=11)
    cell = ParagraphStyle("cell", fontName=FONT, fontSize=9, leading=12)

    story = [para(_("Volunteer service certificate"), title), Spacer(1, 4 * mm),
             para(_("Certificate number: %(serial)s", serial=c["serial"]), small),
             Spacer(1, 4 * mm)]
    facts = [
        (_("Name"), c["name"]),
        (_("ID document"), f"{c['id_type']} {c['id_number']}".strip() or "—"),
        (_("Volunteer number"), c["volunteer_number"]),
        (_("Issued by"), c["issuer"]),
        (_("Service period"), f"{c['period'][0]} — {c['period'][1]}"),
        (_("Verified service hours"), _("%(h)s hours", h=_hours(c["total_minutes"]))),
    ]
    grid = Table([[para(k, cell), para(v, cell)] for k, v in facts],
                 colWidths=[35 * mm, 145 * mm])
    grid.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                              ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f5f5f5")),
                              ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    story += [grid, Spacer(1, 5 * mm),
              para(_("This certifies that the volunteer above did the following service, "
                     "verified by the community that recorded it:"), text), Spacer(1, 2 * mm)]
    data = [[para(h, cell) for h in (_("Date"), _("Service"), _("Place"), _("Hours"))]]
    for day, what, place, minutes in c["services"]:
        data.append([para(day, cell), para(what, cell), para(place, cell),
                     para(_hours(minutes), cell)])
    services = Table(data, repeatRows=1, colWidths=[25 * mm, 70 * mm, 65 * mm, 20 * mm])
    services.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                                  ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f2f2f2")),
                                  ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story += [services, Spacer(1, 6 * mm)]
    qr = Image(qr_png(verify_url), width=32 * mm, height=32 * mm)
    closing = [para(_("Issued by: %(org)s", org=c["issuer"]), text),
               para(_("Issue date: %(day)s", day=c["issued_on"]), text),
               Spacer(1, 2 * mm),
               para(_("Scan the code or open %(url)s to check this certificate.",
                      url=verify_url), small),
               para(_("Content SHA-256: %(hash)s", hash=cert.sha256), small)]
    foot = Table([[closing, qr]], colWidths=[145 * mm, 35 * mm])
    foot.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story.append(foot)
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                            topMargin=18 * mm, bottomMargin=15 * mm,
                            title=_("Volunteer service certificate"), author=c["issuer"])
    doc.build(story)
    out.seek(0)
    return out
