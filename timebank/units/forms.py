from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from timebank.members.forms import IMPORT_MODES
from timebank.units.models import COMMITMENT_LABELS


class RosterImportForm(FlaskForm):
    file = FileField(_l("Roster (.xlsx or .csv)"), validators=[FileRequired(_l("Choose a file."))])
    unit_id = SelectField(_l("Unit"), coerce=int, validators=[DataRequired()])
    mode = RadioField(_l("If some rows are wrong"), choices=IMPORT_MODES, default="all",
                      validators=[DataRequired()])


class AgreementForm(FlaskForm):
    unit_id = SelectField(_l("Unit"), coerce=int, validators=[DataRequired()])
    org_id = SelectField(_l("Community or street"), coerce=int, validators=[DataRequired()])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=100)],
                        description=_l("e.g. 2027 co-building agreement"))
    starts_on = DateField(_l("Starts on"), validators=[DataRequired()])
    ends_on = DateField(_l("Ends on"), validators=[DataRequired()])


class CommitmentForm(FlaskForm):
    kind = SelectField(_l("Commitment kind"), choices=[(k.value, v) for k, v in COMMITMENT_LABELS.items()],
                       validators=[DataRequired()])
    description = StringField(_l("What the unit commits to"),
                              validators=[DataRequired(), Length(max=200)])
    target = StringField(_l("Target amount"), validators=[DataRequired(), Length(max=12)],
                         description=_l("Hours for service hours (one decimal), yuan for funds, "
                                        "a number for the other kinds."))


class FulfilmentForm(FlaskForm):
    amount = StringField(_l("Amount"), validators=[DataRequired(), Length(max=12)],
                         description=_l("In the commitment's unit (hours, yuan or a number)."))
    on_date = DateField(_l("Date"), validators=[DataRequired()])
    note = TextAreaField(_l("What was done"), validators=[Optional(), Length(max=1000)])
    evidence = StringField(_l("Evidence (file number, receipt, link)"),
                           validators=[Optional(), Length(max=300)])
    post_id = SelectField(_l("Through a post (optional)"), coerce=int, validators=[Optional()])
    project_id = SelectField(_l("Through a project (optional)"), coerce=int,
                             validators=[Optional()])


class ReviewForm(FlaskForm):
    review = TextAreaField(_l("Year-end review"), validators=[DataRequired(), Length(max=4000)],
                           description=_l("How the unit kept its commitments; closes the "
                                          "agreement."))
