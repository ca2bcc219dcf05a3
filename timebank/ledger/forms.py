from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DecimalField, HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

HOURS_HELP = _l("In hours; 0.5 = 30 minutes.")


def _hours_field(label=_l("Hours")):
    return DecimalField(label, places=2, description=HOURS_HELP,
                        validators=[DataRequired(), NumberRange(min=0.01, max=10000)],
                        render_kw={"inputmode": "decimal", "step": "0.01", "min": "0.01"})


class RelayForm(FlaskForm):
    target = SelectField(_l("Give to"), choices=[
        SelectChoice("member", _l("A member (by mobile number)")),
        SelectChoice("pool", _l("A community pool"))])
    phone = StringField(_l("Recipient's mobile number"), validators=[Optional(), Length(max=20)],
                        render_kw={"inputmode": "tel"})
    community = SelectField(_l("Community pool"), coerce=int, validators=[Optional()])
    hours = _hours_field()
    reason = StringField(_l("Message (optional)"), validators=[Optional(), Length(max=200)])
    #: Names this submission: a repeated confirmation writes nothing new.
    token = HiddenField()
    confirm = HiddenField()


class RedeemForm(FlaskForm):
    beneficiary = SelectField(_l("Service received by"), coerce=int)
    hours = _hours_field()
    reason = StringField(_l("Service received"), validators=[DataRequired(), Length(max=200)],
                         description=_l("E.g. meals delivered three times, a haircut at home."))
    token = HiddenField()


class BeneficiaryForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=50)])
    relation = StringField(_l("Relation"), validators=[DataRequired(), Length(max=20)],
                           description=_l("E.g. father, mother, spouse."))


class ReverseForm(FlaskForm):
    reason = StringField(_l("Reason for the reversal"),
                         validators=[DataRequired(), Length(max=200)])


class RulesForm(FlaskForm):
    storage_cap = DecimalField(
        _l("Storage cap per member (hours)"), places=2,
        validators=[DataRequired(), NumberRange(min=1, max=100000)],
        description=_l("Deposited hours above the cap go to the member's community pool."))
    relay_recipients = SelectField(_l("Who may receive relayed hours"))
    relay_limit = DecimalField(
        _l("Yearly relay limit per member (hours)"), places=2,
        validators=[Optional(), NumberRange(min=0, max=100000)],
        description=_l("0 or empty = no limit."))
    group_donate_only = BooleanField(_l("Hours from group service go to the community pool"))
