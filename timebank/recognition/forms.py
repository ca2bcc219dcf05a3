from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange


class DrawForm(FlaskForm):
    year = IntegerField(_l("Year"), validators=[DataRequired(), NumberRange(2000, 2100)])
    kind = SelectField(_l("Award"), validators=[DataRequired()])
    scope_id = SelectField(_l("Organisation"), coerce=int, validators=[DataRequired()])
    top_n = IntegerField(_l("Number of nominees"), default=3,
                         validators=[DataRequired(), NumberRange(1, 200)],
                         description=_l("The first approved members of the ranking."))


class ThresholdsForm(FlaskForm):
    thresholds = StringField(
        _l("Star thresholds (hours)"), validators=[DataRequired(), Length(max=200)],
        description=_l("Cumulative verified hours for star 1, 2, 3 ..., separated by commas, "
                       "e.g. 100, 300, 600, 1000, 1500."))


class ObjectionForm(FlaskForm):
    nominee_id = SelectField(_l("Nominee"), coerce=int, validators=[DataRequired()])
    reason = TextAreaField(_l("Reason given"), validators=[DataRequired(), Length(min=5, max=1000)])


class ResolveForm(FlaskForm):
    decision = RadioField(_l("Decision"), choices=[
        SelectChoice("uphold", _l("Uphold: remove the nominee from the list")),
        SelectChoice("dismiss", _l("Dismiss: keep the nominee"))], validators=[DataRequired()])
    note = TextAreaField(_l("Explanation"), validators=[DataRequired(), Length(min=2, max=1000)])


class RemoveForm(FlaskForm):
    reason = StringField(_l("Reason given"), validators=[DataRequired(), Length(min=2, max=500)])
