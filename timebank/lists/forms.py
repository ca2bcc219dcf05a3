from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, IntegerField, SelectField, SelectMultipleField,
                     StringField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from timebank.lists.models import RESOURCE_KIND_LABELS, URGENCY_LABELS

_required = _l("This field is required.")


def _kind_choices():
    return [(k.value, label) for k, label in RESOURCE_KIND_LABELS.items()]


class DemandForm(FlaskForm):
    community_id = SelectField(_l("Community"), coerce=int,
                               validators=[InputRequired(message=_required)])
    grid_id = SelectField(_l("Grid"), coerce=int, validators=[Optional()],
                          description=_l("Leave on the whole community when it is not one grid."))
    title = StringField(_l("What is needed"), validators=[DataRequired(message=_required),
                                                          Length(max=100)])
    description = TextAreaField(_l("Details"), validators=[Optional(), Length(max=5000)])
    category_id = SelectField(_l("Category"), coerce=int,
                              validators=[InputRequired(message=_required)])
    need_kind = SelectField(_l("Kind of help"), choices=_kind_choices,
                            validators=[InputRequired(message=_required)])
    skill_ids = SelectMultipleField(_l("Skills wanted"), coerce=int, validators=[Optional()])
    people_needed = IntegerField(_l("People needed"), default=1,
                                 validators=[InputRequired(message=_required),
                                             NumberRange(1, 1000)])
    hours_needed = IntegerField(_l("Hours needed in all"),
                                validators=[Optional(), NumberRange(1, 100_000)])
    window_start = DateField(_l("Wanted from"), validators=[Optional()])
    window_end = DateField(_l("Wanted until"), validators=[Optional()])
    urgency = SelectField(_l("Urgency"), coerce=int, default=1,
                          choices=[(k, v) for k, v in URGENCY_LABELS.items()])
    deadline = DateField(_l("Deadline for a match"), validators=[Optional()])
    is_wish = BooleanField(_l("A resident's micro-wish"))
    resident_name = StringField(_l("Resident (shown to staff only)"),
                                validators=[Optional(), Length(max=50)])


class ResourceForm(FlaskForm):
    owner = SelectField(_l("Offered by"), validators=[InputRequired(message=_required)])
    kind = SelectField(_l("Kind of resource"), choices=_kind_choices,
                       validators=[InputRequired(message=_required)])
    title = StringField(_l("What is offered"), validators=[DataRequired(message=_required),
                                                           Length(max=100)])
    description = TextAreaField(_l("Details"), validators=[Optional(), Length(max=5000)])
    category_id = SelectField(_l("Category"), coerce=int, validators=[Optional()])
    skill_ids = SelectMultipleField(_l("Skills (tags)"), coerce=int, validators=[Optional()])
    quantity = IntegerField(_l("Quantity"), default=1,
                            validators=[InputRequired(message=_required),
                                        NumberRange(1, 10_000_000)],
                            description=_l("People for volunteer time or expertise, venues, "
                                           "items, or yuan for funds."))
    area_id = SelectField(_l("Area served"), coerce=int,
                          validators=[InputRequired(message=_required)])
    available_from = DateField(_l("Available from"), validators=[Optional()])
    available_until = DateField(_l("Available until"), validators=[Optional()])


class ProjectForm(FlaskForm):
    community_id = SelectField(_l("Community"), coerce=int,
                               validators=[InputRequired(message=_required)])
    title = StringField(_l("Project name"), validators=[DataRequired(message=_required),
                                                        Length(max=100)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    category_id = SelectField(_l("Category"), coerce=int, validators=[Optional()])
    demand_ids = SelectMultipleField(_l("Demands it answers"), coerce=int,
                                     validators=[Optional()])
    resource_ids = SelectMultipleField(_l("Resources it uses"), coerce=int,
                                       validators=[Optional()])


class ClaimForm(FlaskForm):
    owner = SelectField(_l("Claim as"), validators=[InputRequired(message=_required)])


class NoteForm(FlaskForm):
    body = TextAreaField(_l("Progress note"), validators=[DataRequired(message=_required),
                                                         Length(max=2000)])


class AttachDemandForm(FlaskForm):
    demand_id = SelectField(_l("Demand"), coerce=int,
                            validators=[InputRequired(message=_required)])


class AssignResourceForm(FlaskForm):
    resource_id = SelectField(_l("Resource"), coerce=int,
                              validators=[InputRequired(message=_required)])
    quantity = IntegerField(_l("Quantity"), validators=[Optional(), NumberRange(1, 10_000_000)],
                            description=_l("Leave empty to take what the demands need."))


class ProjectStatusForm(FlaskForm):
    action = SelectField(_l("Action"), choices=[
        ("start", _l("Start the project")), ("complete", _l("Mark as completed")),
        ("cancel", _l("Cancel the project"))], validators=[InputRequired(message=_required)])
    outcome = TextAreaField(_l("Outcome or reason"), validators=[Optional(), Length(max=5000)])
