from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp


class AddChildForm(FlaskForm):
    kind = SelectField(_l("Type"), validators=[DataRequired()])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    code = StringField(_l("Code (leave empty to generate)"),
                       validators=[Optional(), Length(max=32), Regexp(r"^[A-Za-z0-9_-]+$")])


class RenameForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])


class MoveForm(FlaskForm):
    parent_id = SelectField(_l("New parent"), coerce=int, validators=[DataRequired()])
