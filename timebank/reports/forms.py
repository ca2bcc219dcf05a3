from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, TextAreaField
from wtforms.validators import DataRequired, Length


class EvaluationForm(FlaskForm):
    month = DateField(_l("Month"), format="%Y-%m", validators=[DataRequired()],
                      render_kw={"type": "month"})
    note = TextAreaField(_l("Note for the member's unit"),
                         validators=[DataRequired(), Length(min=2, max=1000)])
