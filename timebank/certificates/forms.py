from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.validators import DataRequired, Length


class IssueForm(FlaskForm):
    start = DateField(_l("From date"), validators=[DataRequired(_l("Choose a date."))])
    end = DateField(_l("To date"), validators=[DataRequired(_l("Choose a date."))])


class RevokeForm(FlaskForm):
    reason = StringField(_l("Reason for revoking"),
                         validators=[DataRequired(_l("Give a reason.")), Length(max=500)])
