from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from timebank.teams.models import KIND_LABELS


class TeamForm(FlaskForm):
    name = StringField(_l("Team name"), validators=[DataRequired(_l("Give the team a name.")),
                                                    Length(max=100)],
                       description=_l("e.g. 甲社区电器维修服务队"))
    kind = SelectField(_l("Kind of team"), choices=[(k.value, v) for k, v in KIND_LABELS.items()],
                       validators=[DataRequired(_l("Choose the kind of team."))])
    owner_id = SelectField(_l("Owning community or grid"), coerce=int,
                           validators=[DataRequired(_l("Choose the community or grid."))])
    leader_phone = StringField(_l("Team leader's mobile number"),
                               validators=[DataRequired(_l("Enter the leader's mobile number."))],
                               description=_l("An approved member of the same street."))
    specialties = TextAreaField(_l("What the team offers"), validators=[Optional(),
                                                                       Length(max=500)],
                                description=_l("e.g. 电器维修、法律咨询、医疗保健"))


class EnrolForm(FlaskForm):
    phone = StringField(_l("Member's mobile number"),
                        validators=[DataRequired(_l("Enter the member's mobile number."))])
    joined_on = DateField(_l("Joined on"), validators=[Optional()],
                          description=_l("Leave empty for today."))


class TeamClaimForm(FlaskForm):
    session_id = SelectField(_l("Session to claim"), coerce=int,
                             validators=[DataRequired(_l("Choose a session."))])
    member_ids = SelectMultipleField(_l("Team members to send"), coerce=int,
                                     validators=[DataRequired(_l("Choose at least one team "
                                                                 "member."))])
