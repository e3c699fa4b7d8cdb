"""Phone numbers: parsed with `phonenumbers` (default region SE), stored in E.164."""

import re

import phonenumbers
from flask_babel import lazy_gettext as _l

DEFAULT_REGION = "SE"
_TRUNK_ZERO = re.compile(r"\(0\)")
_SEPARATORS = re.compile(r"[\s\-./()]")
_MOBILE_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}


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


def normalise_mobile(value: str, region: str = DEFAULT_REGION) -> str:
    """E.164 for a number that can receive SMS, repairing what spreadsheets do to numbers:
    spaces, dashes, '(0)', a lost leading 0 (701234567) and a country code without '+'
    (46701234567, 0046701234567)."""
    digits = _SEPARATORS.sub("", _TRUNK_ZERO.sub("", value.strip()))
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif region == "SE" and digits.isdigit():
        if digits.startswith("46") and len(digits) >= 11:
            digits = "+" + digits
        elif digits.startswith("7") and len(digits) == 9:
            digits = "0" + digits
    number = normalise_phone(digits, region)
    if phonenumbers.number_type(phonenumbers.parse(number)) not in _MOBILE_TYPES:
        raise InvalidPhone(_l("Numret är inte ett mobilnummer och kan inte ta emot SMS."))
    return number


def mask(e164: str | None) -> str:
    """A number as logs may show it: country code and last two digits, '+46*******67'."""
    if not e164:
        return ""
    return e164[:3] + "*" * max(len(e164) - 5, 0) + e164[-2:]
