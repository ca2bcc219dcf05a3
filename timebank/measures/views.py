"""The glossary of figures (口径说明): every measure's label and one-line definition."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import gettext, lazy_gettext as _l

from timebank import measures

bp = Blueprint("measures", __name__, url_prefix="/measures")

#: The measures' definitions (their docstrings' first lines) as message ids, so the glossary
#: reads in Chinese; tests/measures checks that every definition here matches a measure.
DEFINITIONS = (
    _l('Minutes of verified, un-reversed service records, counted on the day served (never deposits without a service record).'),
    _l('Minutes brought over by the audited historical-hours import, un-reversed, counted when imported; not service.'),
    _l('Number of verified, un-reversed service records served in the period.'),
    _l('Members with at least one verified, un-reversed service record served in the period.'),
    _l("Members registered (any status except rejected) before the period's end."),
    _l("Members whose report (报到) is approved (status approved), approved before the period's end."),
    _l('已报到 ÷ 注册党员 (None when nobody is registered); see 花名册报到率 for the roster basis.'),
    _l('Places claimed (claims not withdrawn) / places offered, over sessions starting in the period (None: no places).'),
    _l('Claims marked attended / claims marked attended or no-show, over sessions starting in the period (None: none marked).'),
    _l("People on the units' party rosters (花名册) in the scope, registered or not."),
    _l('Roster people whose report is approved ÷ roster size where a roster exists, else 已报到 ÷ 注册党员 (None if 0).'),
)


@bp.route("/")
def glossary():
    """Login required (the app's default); each figure's ⓘ links to its anchor here."""
    return render_template("measures/glossary.html", items=measures.glossary())


@bp.app_template_global()
def measure_label(name: str) -> str:
    """The one label of a measure (see ``templates/macros/figures.html``)."""
    return measures.label(name)


@bp.app_template_global()
def measure_definition(name: str) -> str:
    """A measure's one-line definition, translated when the catalogue has it."""
    return gettext(measures.REGISTRY[name].definition)
