from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, DateTimeLocalField, DecimalField, HiddenField,
                     IntegerField,
                     RadioField, SelectField, SelectMultipleField, StringField, TextAreaField,
                     TimeField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import NumberInput

WEEKDAYS = [(0, _l("Mon")), (1, _l("Tue")), (2, _l("Wed")), (3, _l("Thu")), (4, _l("Fri")),
            (5, _l("Sat")), (6, _l("Sun"))]

_required = _l("This field is required.")
_DATES_HELP = _l("One date per line, e.g. 2026-12-05; add times to a line to differ from the "
                 "times above: 2026-12-12 14:00-16:00.")


class PostForm(FlaskForm):
    community_id = SelectField(_l("Community"), coerce=int,
                               validators=[InputRequired(message=_required)])
    kind_id = SelectField(_l("Kind"), coerce=int, validators=[InputRequired(message=_required)])
    title = StringField(_l("Title"), validators=[DataRequired(message=_required),
                                                 Length(max=100)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    place = StringField(_l("Place"), validators=[Optional(), Length(max=200)])
    skill_ids = SelectMultipleField(_l("Required skills"), coerce=int, validators=[Optional()],
                                    description=_l("Members who have all of them are shown the "
                                                   "post as a fit."))
    capacity = IntegerField(_l("Places per session"), default=5,
                            validators=[InputRequired(message=_required), NumberRange(1, 1000)])
    #: In hours, as people count service (1.5 = 90 minutes); stored as minutes.
    hours_credit = DecimalField(
        _l("Hours credited per session"), places=2, widget=NumberInput(step="0.01", min=0, max=24),
        validators=[Optional(), NumberRange(0, 24, message=_l("Between 0 and 24 hours."))],
        description=_l("Leave empty to credit the length of each session."))
    claim_deadline = DateTimeLocalField(
        _l("Claim deadline"), format="%Y-%m-%dT%H:%M", validators=[Optional()],
        description=_l("Leave empty: each session can be claimed until it starts."))
    open_to_all = BooleanField(_l("Open to members of other streets"))
    mode = RadioField(_l("Sessions"), choices=[("dates", _l("On given dates")),
                                                ("weekly", _l("Every week"))],
                      default="dates", validators=[InputRequired(message=_required)])
    start_time = TimeField(_l("Starts at"), validators=[InputRequired(message=_required)])
    end_time = TimeField(_l("Ends at"), validators=[InputRequired(message=_required)])
    dates = TextAreaField(_l("Dates"), validators=[Optional()], description=_DATES_HELP)
    first_day = DateField(_l("First day"), validators=[Optional()])
    last_day = DateField(_l("Last day"), validators=[Optional()])
    weekdays = SelectMultipleField(_l("Weekdays"), coerce=int, choices=WEEKDAYS,
                                   validators=[Optional()])


class AddSessionsForm(FlaskForm):
    """One-off sessions added to a published post."""

    dates = TextAreaField(_l("Dates"), validators=[DataRequired(message=_required)],
                          description=_DATES_HELP)
    start_time = TimeField(_l("Starts at"), validators=[InputRequired(message=_required)])
    end_time = TimeField(_l("Ends at"), validators=[InputRequired(message=_required)])


class MoveSessionForm(FlaskForm):
    day = DateField(_l("Date"), validators=[InputRequired(message=_required)])
    start_time = TimeField(_l("Starts at"), validators=[InputRequired(message=_required)])
    end_time = TimeField(_l("Ends at"), validators=[InputRequired(message=_required)])


class KindForm(FlaskForm):
    community_id = SelectField(_l("Community"), coerce=int,
                               validators=[InputRequired(message=_required)])
    category_id = SelectField(_l("Category"), coerce=int,
                              validators=[InputRequired(message=_required)])
    name = StringField(_l("Name of the new kind"),
                       validators=[DataRequired(message=_required), Length(max=50)])


class CancelForm(FlaskForm):
    reason = StringField(_l("Reason (sent to the claimants)"), validators=[Length(max=500)])


class ReportForm(FlaskForm):
    day = DateField(_l("Date"), validators=[InputRequired(message=_required)])
    start_time = TimeField(_l("From"), validators=[InputRequired(message=_required)])
    end_time = TimeField(_l("To"), validators=[InputRequired(message=_required)])
    kind_id = SelectField(_l("Kind"), coerce=int, validators=[Optional()])
    description = TextAreaField(_l("What did you do?"),
                                validators=[DataRequired(message=_required), Length(max=1000)])


class RejectForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(message=_required),
                                                   Length(max=500)])


class CheckinForm(FlaskForm):
    action = HiddenField()
    #: "1": no claim yet, sign up on the spot if there is a free place.
    walk_in = HiddenField()


def credit_minutes(form) -> int | None:
    """The form's hours credited per session, as whole minutes (None: the session's length)."""
    value = form.hours_credit.data
    if value is None:
        return None
    return int((value * 60).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def credit_hours(minutes: int | None) -> Decimal | None:
    """Minutes as the hours the form shows: exact to the minute (two decimals round back)."""
    if minutes is None:
        return None
    return (Decimal(minutes) / 60).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP).normalize()
