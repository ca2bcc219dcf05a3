"""Rankings and award lists as .xlsx workbooks.

Names and organisation names are typed by people: cells go through ``safe_cell``, so a value a
spreadsheet would run as a formula is written as text.
"""
from __future__ import annotations

import io

from flask_babel import gettext as _

from timebank.core import clock
from timebank.recognition.models import AwardList, AwardNominee
from timebank.core.spreadsheet import XLSX_MIMETYPE
from timebank.core.spreadsheet import hours_value
from timebank.core.spreadsheet import neutralise as safe_cell

__all__ = ["XLSX_MIMETYPE", "award_list_xlsx", "ranking_xlsx"]


def _local(value) -> str:
    return clock.to_local(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _book(title: str, heading: list[str], rows, meta: list[tuple[str, str]]) -> bytes:
    from openpyxl import Workbook  # loaded on first export, not at every worker start

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(safe_cell(title)[:31])
    for label, value in meta:
        ws.append([safe_cell(label), safe_cell(value)])
    ws.append([])
    ws.append(heading)
    for row in rows:
        ws.append([safe_cell(v) for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def ranking_xlsx(ranking) -> bytes:
    from timebank import measures

    heading = [_("Rank"), _("Member name"), _("Community"), _("Work unit"),
               measures.label("verified_service_minutes"), measures.label("service_sessions"),
               _("Reached the total at"), _("Star level")]
    rows = ([r.rank, r.name, r.community_name, r.unit_name or "", hours_value(r.minutes), r.sessions,
             _local(r.reached_at), r.star_level] for r in ranking.rows)
    return _book(_("Ranking"), heading, rows, [
        (_("Organisation"), ranking.scope.full_name or ranking.scope.name),
        (_("Year"), str(ranking.year)),
        (_("Exported at"), _local(clock.now()))])


def award_list_xlsx(award_list: AwardList, nominees: list[AwardNominee]) -> bytes:
    heading = [_("Rank"), _("Member name"), _("Community"), _("Work unit"), _("Verified service hours"),
               _("Sessions served"), _("Reached the total at"), _("Star level"), _("Status"),
               _("Reason given")]
    rows = ([n.rank, n.name, n.community_name, n.unit_name or "", hours_value(n.service_minutes),
             n.sessions, _local(n.reached_at), n.star_level, n.status_enum.label,
             n.removed_reason or ""] for n in nominees)
    meta = [(_("Award"), str(award_list.kind_info.label)),
            (_("Organisation"), award_list.scope.full_name or award_list.scope.name),
            (_("Year"), str(award_list.year)), (_("Status"), award_list.status_enum.label),
            (_("Notice ends"), _local(award_list.notice_ends_at))]
    if award_list.figures_sha256:
        meta.append(("SHA-256", award_list.figures_sha256))
    return _book(_("Award list"), heading, rows, meta)
