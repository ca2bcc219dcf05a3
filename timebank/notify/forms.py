from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectMultipleField, TimeField, widgets
from wtforms.validators import Length, Optional


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class PreferencesForm(FlaskForm):
    channels = CheckboxesField(_l("Also send my messages by"), choices=[],
                               validate_choice=False)
    email = EmailField(_l("E-mail address"), validators=[Optional(), Length(max=254)])
    quiet_start = TimeField(_l("Quiet hours from"), validators=[Optional()])
    quiet_end = TimeField(_l("Quiet hours until"), validators=[Optional()],
                          description=_l("Beijing time. Messages in this period wait until it "
                                         "ends; verification codes are sent at once."))
