from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional


class ItemForm(FlaskForm):
    org = SelectField(_l("Exchange of"), coerce=int,
                      validators=[InputRequired(_l("Choose the community or street."))])
    title = StringField(_l("Item name"), validators=[
        DataRequired(_l("Give the item a name.")),
        Length(max=100, message=_l("Up to 100 characters."))])
    kind = SelectField(_l("Goods or service"), choices=[("goods", _l("Goods")),
                                                        ("service", _l("Service (exchange)"))])
    price = DecimalField(_l("Price in hours"), places=1, validators=[
        InputRequired(_l("Enter the price in hours.")),
        NumberRange(min=Decimal("0.1"), max=100, message=_l("Enter a price between 0.1 and 100 hours."))])
    stock = IntegerField(_l("Stock"), validators=[
        Optional(), NumberRange(min=0, max=100000,
                                message=_l("Enter a stock between 0 and 100000, or leave it empty for unlimited."))],
        description=_l("Leave empty for a service offered without limit."))
    provider_name = StringField(_l("Provided by"), validators=[
        Length(max=100, message=_l("Up to 100 characters."))])
    provider_unit = SelectField(_l("Or a unit of the district"), coerce=int, default=0)
    opening_times = StringField(_l("Opening times"), validators=[
        Length(max=200, message=_l("Up to 200 characters."))])
    description = TextAreaField(_l("Description"), validators=[
        Length(max=2000, message=_l("Up to 2000 characters."))])
    active = BooleanField(_l("Offered now"), default=True)


class NoteForm(FlaskForm):
    note = StringField(_l("Reason"), validators=[
        DataRequired(_l("Give a reason.")),
        Length(max=500, message=_l("The reason may have up to 500 characters."))])
