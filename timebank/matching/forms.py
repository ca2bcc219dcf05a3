from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField
from wtforms.validators import InputRequired, NumberRange

from timebank.matching import rules

_required = _l("This field is required.")


class RunForm(FlaskForm):
    scope_id = SelectField(_l("Match the posts and demands of"), coerce=int,
                           validators=[InputRequired(message=_required)])


def field_name(key: str) -> str:
    return key.replace(".", "__")


def settings_form_class() -> type[FlaskForm]:
    """One integer field per matcher setting, with its bounds and meaning."""

    class SettingsForm(FlaskForm):
        pass

    for key in rules.KEYS:
        low, high = rules.BOUNDS[key]
        setattr(SettingsForm, field_name(key), IntegerField(
            rules.LABELS[key], description=rules.help_text(key),
            validators=[InputRequired(message=_required), NumberRange(low, high)]))
    return SettingsForm
