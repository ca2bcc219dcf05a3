"""The glossary of figures (口径说明): every measure's label and one-line definition."""
from __future__ import annotations

from flask import Blueprint, render_template

from timebank import measures

bp = Blueprint("measures", __name__, url_prefix="/measures")


@bp.route("/")
def glossary():
    """Login required (the app's default); each figure's ⓘ links to its anchor here."""
    return render_template("measures/glossary.html", items=measures.glossary())
