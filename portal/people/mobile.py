"""A person's own mobile number: parsing what people type, saving, showing it."""

import phonenumbers
from flask_babel import lazy_gettext as _l

from portal.models.audit import record
from portal.sms.phone import DEFAULT_REGION, InvalidPhone, mask, normalise_mobile, normalise_phone


def parse_mobile(value):
    """E.164 for a number that can receive SMS, or InvalidPhone with a Swedish message."""
    try:
        return normalise_mobile(value)
    except InvalidPhone:
        try:
            normalise_phone(value)
        except InvalidPhone:
            raise InvalidPhone(_l("Ange ett mobilnummer, till exempel 070-123 45 67.")) from None
        raise  # a real number, but not a mobile: the message says so


def change_mobile(person, mobile):
    """Set (E.164) or remove (None) `person`'s own number; audited with masked numbers.

    Returns False when nothing changed. The caller commits.
    """
    if mobile == person.mobile and person.mobile_rejected is None:
        return False
    previous = person.mobile
    person.mobile = mobile
    person.mobile_rejected = None
    details = {"previous": mask(previous)}
    if mobile:
        details["mobile"] = mask(mobile)
    record(
        "profile.mobile_changed" if mobile else "profile.mobile_removed",
        actor=person,
        organisation=person.organisation,
        subject=person,
        **details,
    )
    return True


def display(e164):
    """A stored number as people write it: '070-174 06 05' at home, '+47 …' for abroad."""
    if not e164:
        return ""
    number = phonenumbers.parse(e164)
    if phonenumbers.region_code_for_number(number) == DEFAULT_REGION:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
