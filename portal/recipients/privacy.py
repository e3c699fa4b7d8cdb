"""What senders may see of a person: protected identities show neither name nor number.

People with protected identity (skyddad identitet) receive messages like anyone
else, but their names and numbers are never shown to senders, in lists,
exports or logs. Everything in this package that is meant for display goes
through these helpers.
"""

import phonenumbers
from flask_babel import lazy_gettext as _l

from portal.sms.phone import mask

PROTECTED_NAME = _l("Skyddad identitet")
HIDDEN_NUMBER = _l("Dolt nummer")


def display_name(person) -> str:
    """The person's name as a sender may see it; anything with the Person name fields."""
    return name_for(person.given_name, person.family_name, person.protected_identity)


def name_for(given_name: str, family_name: str, protected: bool) -> str:
    if protected:
        return str(PROTECTED_NAME)
    return f"{given_name} {family_name}"


def display_mobile(person) -> str:
    """The mobile number as a sender may see it ('070-123 45 67'), or '' when there is none."""
    if not (person.mobile or person.mobile_rejected):
        return ""
    if person.protected_identity:
        return str(HIDDEN_NUMBER)
    if not person.mobile:
        return person.mobile_rejected
    number = phonenumbers.parse(person.mobile)
    if phonenumbers.region_code_for_number(number) == "SE":
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def loggable_address(address: str, protected: bool) -> str:
    """An address as logs and reprs may show it: numbers masked, protected e-mail hidden."""
    if address.startswith("+"):
        return mask(address)
    if protected:
        return "***"
    return address
