from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    RadioField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, ValidationError

from portal.forms import PlainText, at_most, clean_text, required
from portal.identifiers import (
    InvalidEmail,
    InvalidOrgNumber,
    InvalidPeppolId,
    normalise_email,
    normalise_org_number,
    normalise_peppol_id,
)
from portal.models import OrgKind
from portal.sms.phone import InvalidPhone, normalise_phone

KIND_CHOICES = [
    SelectChoice(OrgKind.KOMMUN.value, _l("Kommun")),
    SelectChoice(OrgKind.FRISKOLA.value, _l("Fristående skola")),
]


def _normalised(function, error):
    """A validator that keeps `function(data)` as the field's `normalised` value, or reports
    `error`. The field still shows what the person typed."""

    def validate(_form, field):
        if field.data:
            try:
                field.normalised = function(field.data)
            except error as invalid:
                raise ValidationError(str(invalid)) from None

    return validate


def _value(field):
    return getattr(field, "normalised", field.data) or None


class OrderForm(FlaskForm):
    class Meta:
        # CSRFProtect checks every post before the view runs; a token field of the form's
        # own would sign a new token on each post, which a placed order never shows.
        csrf = False

    org_kind = RadioField(
        _l("Typ av organisation"),
        choices=KIND_CHOICES,
        validate_choice=False,
        validators=[
            AnyOf(
                [choice.value for choice in KIND_CHOICES],
                message=_l("Välj om organisationen är en kommun eller en fristående skola."),
            )
        ],
    )
    org_name = StringField(
        _l("Organisationens namn"),
        filters=[clean_text],
        validators=[required(_l("Ange organisationens namn.")), at_most(200), PlainText()],
    )
    org_number = StringField(
        _l("Organisationsnummer"),
        filters=[clean_text],
        validators=[
            required(_l("Ange organisationsnumret.")),
            at_most(20),
            _normalised(normalise_org_number, InvalidOrgNumber),
        ],
    )
    contact_name = StringField(
        _l("Kontaktperson"),
        filters=[clean_text],
        validators=[required(_l("Ange namnet på kontaktpersonen.")), at_most(200), PlainText()],
    )
    contact_email = EmailField(
        _l("E-postadress"),
        filters=[clean_text],
        validators=[
            required(_l("Ange en e-postadress.")),
            at_most(254),
            _normalised(normalise_email, InvalidEmail),
        ],
    )
    contact_phone = TelField(
        _l("Telefonnummer"),
        filters=[clean_text],
        validators=[
            required(_l("Ange ett telefonnummer.")),
            at_most(30),
            _normalised(normalise_phone, InvalidPhone),
        ],
    )
    invoice_address = TextAreaField(
        _l("Fakturaadress"),
        filters=[clean_text],
        validators=[
            required(_l("Ange fakturaadressen.")),
            at_most(500),
            PlainText(multiline=True),
        ],
    )
    invoice_reference = StringField(
        _l("Fakturareferens"),
        filters=[clean_text],
        validators=[required(_l("Ange en fakturareferens.")), at_most(100), PlainText()],
    )
    peppol_id = StringField(
        _l("Peppol-ID eller GLN (valfritt)"),
        filters=[clean_text],
        validators=[at_most(50), _normalised(normalise_peppol_id, InvalidPeppolId)],
    )
    comment = TextAreaField(
        _l("Övrigt (valfritt)"),
        filters=[clean_text],
        validators=[at_most(2000), PlainText(multiline=True)],
    )
    accept_terms = BooleanField(
        _l("Jag är behörig att beställa för organisationen och godkänner villkoren"),
        validators=[required(_l("Bekräfta att du är behörig och godkänner villkoren."))],
    )
    # Bots fill every field and post at once; people leave this empty and take their time.
    website = StringField(_l("Lämna det här fältet tomt"), filters=[clean_text])
    started = HiddenField("")  # no label: saves a gettext catalogue load per request

    def validate_org_number(self, field):
        number = _value(field)
        if self.org_kind.data == OrgKind.KOMMUN and number and not number.startswith("2"):
            raise ValidationError(_l("En kommuns organisationsnummer börjar med 2."))

    def order_fields(self):
        """The cleaned values, named as on SmsOrder."""
        return {
            "org_kind": OrgKind(self.org_kind.data),
            "org_name": self.org_name.data,
            "org_number": _value(self.org_number),
            "contact_name": self.contact_name.data,
            "contact_email": _value(self.contact_email),
            "contact_phone": _value(self.contact_phone),
            "invoice_address": self.invoice_address.data,
            "invoice_reference": self.invoice_reference.data,
            "peppol_id": _value(self.peppol_id),
            "comment": self.comment.data or None,
        }
