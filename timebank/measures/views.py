"""The glossary of figures (口径说明): every measure's label and one-line definition."""
from __future__ import annotations

from flask import Blueprint, render_template

from timebank import measures

bp = Blueprint("measures", __name__, url_prefix="/measures")


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
    return measures.REGISTRY[name].definition
