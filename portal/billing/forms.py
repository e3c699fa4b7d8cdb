import re
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import Optional, ValidationError

from portal.billing.money import InvalidAmount, parse_kronor
from portal.billing.prices import MAX_PRICE_ORE
from portal.forms import PlainText, at_most, clean_text, required

FIRST_YEAR, LAST_YEAR = 2000, 2099


class PriceForm(FlaskForm):
    price = StringField(
        _l("Nytt pris per paket (kronor, exkl. moms)"),
        validators=[required(_l("Ange priset per paket.")), at_most(30)],
        filters=[clean_text],
    )

    def validate_price(self, field):
        try:
            amount_ore = parse_kronor(field.data)
        except InvalidAmount:
            raise ValidationError(
                _l("Ange priset i kronor, till exempel 4 500 eller 4 500,00.")
            ) from None
        if amount_ore == 0:
            raise ValidationError(_l("Priset måste vara större än 0 kr."))
        if amount_ore > MAX_PRICE_ORE:
            raise ValidationError(_l("Priset får vara högst 1 000 000 kr per paket."))
        field.amount_ore = amount_ore


class DeactivateForm(FlaskForm):
    reason = TextAreaField(
        _l("Anledning (valfritt)"),
        validators=[Optional(), at_most(500), PlainText(multiline=True)],
        filters=[clean_text],
    )


class InvoiceFilterForm(FlaskForm):
    """The date filter of the operators' invoice list (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    since = StringField(_l("Skapade från och med"), validators=[at_most(10)], filters=[clean_text])

    def validate_since(self, field):
        field.day = None
        if not field.data:
            return
        try:
            field.day = parse_day(field.data)
        except ValueError:
            raise ValidationError(
                _l("Ange ett datum som ÅÅÅÅ-MM-DD, till exempel 2026-01-31.")
            ) from None


def parse_day(text):
    """'2026-01-31' → date; ValueError for any other form or a year outside 2000–2099."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text, flags=re.ASCII):
        raise ValueError(text)
    day = date.fromisoformat(text)
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValueError(text)
    return day
