from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (BooleanField, IntegerField, PasswordField, RadioField, SelectField,
                     SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from timebank.members.models import SLOTS


class _Checkboxes(SelectMultipleField):
    """Several choices as checkboxes; an unknown value fails validation (a guessed id)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _int_or_none(value):
    if value in (None, "", "0", 0):
        return None
    return int(value)


class ApplicationForm(FlaskForm):
    """Who the applicant is and where they live and work (报到)."""

    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=50)],
                       render_kw={"autocomplete": "name"})
    id_number = StringField(_l("ID card number"), validators=[DataRequired(), Length(max=40)],
                            render_kw={"autocomplete": "off", "spellcheck": "false"})
    unit_id = SelectField(_l("Work unit"), coerce=_int_or_none, validate_choice=True,
                          description=_l("Choose \"outside the district\" if your employer is "
                                         "not in the list."))
    community_id = SelectField(_l("Community you live in"), coerce=_int_or_none,
                               validators=[DataRequired()],
                               render_kw={"data-grid-target": "grid_id"})
    grid_id = SelectField(_l("Grid"), coerce=_int_or_none)


class RegistrationForm(ApplicationForm):
    phone = StringField(_l("Mobile number"), validators=[DataRequired(), Length(max=20)],
                        render_kw={"inputmode": "tel", "autocomplete": "tel"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=8, max=200)],
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat the password"),
                            validators=[DataRequired(), EqualTo("password",
                                                                _l("The passwords differ."))],
                            render_kw={"autocomplete": "new-password"})

    field_order = ("phone", "name", "id_number", "unit_id", "community_id", "grid_id",
                   "password", "confirm")

    def __iter__(self):
        fields = {f.name: f for f in super().__iter__()}
        ordered = [fields.pop(n) for n in ("csrf_token", *self.field_order) if n in fields]
        return iter(ordered + list(fields.values()))


AVAILABILITY_CHOICES = [(f"{d}-{s}", f"{d}-{s}") for d in range(7) for s in SLOTS]


class ProfileForm(FlaskForm):
    """特长爱好和服务意愿登记表."""

    skills = _Checkboxes(_l("Skills"), coerce=int)
    free_text_skills = TextAreaField(_l("Other skills"), validators=[Length(max=500)],
                                     description=_l("Skills not in the list, in your own words."))
    hobbies = TextAreaField(_l("Hobbies"), validators=[Length(max=500)])
    willing_categories = _Checkboxes(_l("Willing to serve in these categories"), coerce=int)
    willing_kinds = _Checkboxes(_l("Willing to serve in these kinds of posts"), coerce=int)
    availability = _Checkboxes(_l("When you are free"), choices=AVAILABILITY_CHOICES)
    max_sessions_per_month = IntegerField(
        _l("At most how many sessions a month"), validators=[Optional(), NumberRange(0, 31)],
        render_kw={"inputmode": "numeric", "min": 0, "max": 31})

    def availability_cells(self) -> set[tuple[int, str]]:
        cells = set()
        for value in self.availability.data or ():
            day, _, slot = value.partition("-")
            cells.add((int(day), slot))
        return cells


class ReviewForm(FlaskForm):
    decision = RadioField(_l("Review decision"), choices=[("approve", _l("Approve")),
                                                   ("reject", _l("Do not approve"))],
                          validators=[DataRequired()])
    reason = TextAreaField(_l("Reason (required when rejecting)"), validators=[Length(max=500)])


class MoveForm(FlaskForm):
    grid_id = SelectField(_l("Move to grid"), coerce=int, validators=[DataRequired()])


BULK_ACTIONS = [("approve", _l("Approve")), ("reject", _l("Do not approve")),
                ("move", _l("Move to grid")), ("deactivate", _l("Deactivate"))]


class BulkForm(FlaskForm):
    action = SelectField(_l("Action"), choices=BULK_ACTIONS, validators=[DataRequired()])
    reason = StringField(_l("Reason (for rejection)"), validators=[Length(max=500)])
    grid_id = SelectField(_l("Grid (for moving)"), coerce=_int_or_none, validate_choice=False)


IMPORT_MODES = [("all", _l("Import nothing if any row is wrong")),
                ("valid", _l("Import the valid rows and list the wrong ones"))]


class ImportForm(FlaskForm):
    file = FileField(_l("Completed forms (.xlsx or .csv)"),
                     validators=[FileRequired(_l("Choose a file."))])
    community_id = SelectField(_l("Community"), coerce=int, validators=[DataRequired()])
    mode = RadioField(_l("If some rows are wrong"), choices=IMPORT_MODES, default="all",
                      validators=[DataRequired()])


class SkillForm(FlaskForm):
    name = StringField(_l("Skill name"), validators=[DataRequired(), Length(max=50)])
    name_en = StringField(_l("English name"), validators=[Optional(), Length(max=80)])
    code = StringField(_l("Code (leave empty to generate)"), validators=[Optional(),
                                                                        Length(max=32)])


class SkillEditForm(FlaskForm):
    name = StringField(_l("Skill name"), validators=[DataRequired(), Length(max=50)])
    name_en = StringField(_l("English name"), validators=[Optional(), Length(max=80)])
    active = BooleanField(_l("Can be chosen"))


class UnitReportForm(FlaskForm):
    org_id = SelectField(_l("Street or community"), coerce=int, validators=[DataRequired()])
    note = TextAreaField(_l("What the unit offers, contact notes"), validators=[Length(max=500)])
