"""Phone numbers: parsed with `phonenumbers` (default region SE), stored in E.164."""

import re

import phonenumbers
from flask_babel import lazy_gettext as _l

DEFAULT_REGION = "SE"
_TRUNK_ZERO = re.compile(r"\(0\)")


class InvalidPhone(ValueError):
    pass


def normalise_phone(value: str, region: str = DEFAULT_REGION) -> str:
    """E.164 for a valid Swedish or international number, e.g. '08-123 45 67' → '+4681234567'."""
    cleaned = _TRUNK_ZERO.sub("", value.strip())
    try:
        number = phonenumbers.parse(cleaned, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhone(_l("Ange ett telefonnummer, till exempel 08-123 456 78.")) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(_l("Telefonnumret finns inte. Kontrollera riktnummer och siffror."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask(e164: str | None) -> str:
    """A number as logs may show it: country code and last two digits, '+46*******67'."""
    if not e164:
        return ""
    return e164[:3] + "*" * max(len(e164) - 5, 0) + e164[-2:]
