from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, TelField
from wtforms.validators import EqualTo, Length, ValidationError

from portal.forms import at_most, clean_text, required
from portal.people.mobile import parse_mobile
from portal.sms.phone import InvalidPhone

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200


class TermsForm(FlaskForm):
    accepted = BooleanField(
        _l("Jag har tagit del av informationen"),
        validators=[required(_l("Kryssa i rutan för att visa att du har läst informationen."))],
    )


class MobileForm(FlaskForm):
    mobile = TelField(_l("Mobilnummer"), filters=[clean_text], validators=[at_most(30)])

    def validate_mobile(self, field):
        field.normalised = None
        if field.data:
            try:
                field.normalised = parse_mobile(field.data)
            except InvalidPhone as invalid:
                raise ValidationError(str(invalid)) from None


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("Nytt lösenord"),
        validators=[
            required(_l("Ange ett nytt lösenord.")),
            Length(
                min=MIN_PASSWORD_LENGTH,
                message=_l("Lösenordet måste ha minst %(min)d tecken.", min=MIN_PASSWORD_LENGTH),
            ),
            at_most(MAX_PASSWORD_LENGTH),
        ],
    )
    repeat = PasswordField(
        _l("Upprepa lösenordet"),
        validators=[
            required(_l("Skriv lösenordet en gång till.")),
            EqualTo("password", message=_l("Lösenorden är inte likadana.")),
        ],
    )
