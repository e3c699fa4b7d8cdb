"""Cleaning the values of a directory file, with Swedish messages for what cannot be used.

Each parser raises Invalid with a message for the person who fixes the file; values
of people with protected identity are never repeated in a message.
"""

import re
import unicodedata
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import phonenumbers
from flask_babel import gettext as _

from portal.identifiers import InvalidEmail, normalise_email
from portal.sms.phone import InvalidPhone, normalise_mobile

STOCKHOLM = ZoneInfo("Europe/Stockholm")
NAME_MAX = 100
REJECTED_MAX = 50
_REFUSED = {"Cc", "Cf", "Co", "Cs"}
_EXCEL_TEXT = re.compile(r'^="(.*)"$')  # ="0701234567", Excel's way of keeping a leading 0
_EXCEL_FLOAT = re.compile(r"^(\d+)\.0+$")  # 701234567.0 from a numeric cell
_SEPARATORS = re.compile(r"[\s\-./()]")
# Swedish mobile numbers in the shapes spreadsheets leave them: checked against the
# phonenumbers metadata for SE directly, so that a large file does not parse each number
# twice. Anything else goes through normalise_mobile, which gives the same answer.
_SWEDISH_MOBILE = re.compile(r"(?:\+46|0046|46|0)?(7[0-9]{8})")
_SE_MOBILE = re.compile(
    phonenumbers.PhoneMetadata.metadata_for_region("SE").mobile.national_number_pattern
)
TRUE_WORDS = {"true", "ja", "1", "sant", "yes", "x"}
FALSE_WORDS = {"false", "nej", "0", "falskt", "no", ""}


class Invalid(ValueError):
    pass


def clean(value):
    """NFC, surrounding whitespace trimmed, Excel's ="…" text wrapper removed."""
    if not value:
        return ""
    value = str(value).strip()
    if not value.isascii():
        value = unicodedata.normalize("NFC", value)
    match = _EXCEL_TEXT.match(value)
    return match.group(1).strip() if match else value


def plain(value, label, *, required=True, max_length=NAME_MAX):
    """A single-line text such as a name: present when `required`, short, no control chars."""
    value = clean(value)
    if not value:
        if required:
            raise Invalid(_("%(label)s saknas.", label=label))
        return ""
    if len(value) > max_length:
        raise Invalid(
            _("%(label)s är för långt (högst %(max)d tecken).", label=label, max=max_length)
        )
    if not value.isprintable() and any(unicodedata.category(c) in _REFUSED for c in value):
        raise Invalid(_("%(label)s innehåller otillåtna tecken.", label=label))
    return value


def shown(value, protected):
    """`value` in quotes for a message, or '(skyddad identitet)'."""
    return _("(skyddad identitet)") if protected else f"'{value}'"


def email(value, protected=False):
    value = clean(value)
    if not value:
        return None
    try:
        return normalise_email(value)
    except InvalidEmail:
        raise Invalid(
            _("E-postadressen %(value)s är inte giltig.", value=shown(value, protected))
        ) from None


def mobile(value):
    """(E.164 mobile, None), (None, the raw text) for a number that cannot get SMS, or
    (None, None) when empty. Repairs what spreadsheets do to numbers."""
    value = clean(value)
    if not value:
        return None, None
    match = _EXCEL_FLOAT.match(value)
    value = match.group(1) if match else value
    swedish = _SWEDISH_MOBILE.fullmatch(_SEPARATORS.sub("", value.replace("(0)", "")))
    if swedish and _SE_MOBILE.fullmatch(swedish.group(1)):
        return "+46" + swedish.group(1), None
    try:
        return normalise_mobile(value), None
    except InvalidPhone:
        return None, value[:REJECTED_MAX]


def rejected_mobile_warning(raw, protected):
    if protected:
        return _("Numret (skyddad identitet) är inte ett mobilnummer; personen får inga SMS.")
    return _("%(number)s är inte ett mobilnummer; personen får inga SMS.", number=raw)


def boolean(value, label):
    word = clean(value).casefold()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise Invalid(
        _(
            "%(label)s: '%(value)s' ska vara ja eller nej (true/false, 1/0).",
            label=label,
            value=word,
        )
    )


def accepted_at(value, now, protected=False):
    """An ISO date or date and time; naive times are Stockholm time. Stored as aware UTC."""
    value = clean(value)
    if not value:
        return None
    try:
        if len(value) == 10:
            moment = datetime.combine(date.fromisoformat(value), datetime.min.time())
        else:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(
            _(
                "terms_accepted_at: %(value)s är inte ett datum (ÅÅÅÅ-MM-DD eller "
                "ÅÅÅÅ-MM-DD TT:MM).",
                value=shown(value, protected),
            )
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=STOCKHOLM)
    moment = moment.astimezone(UTC)
    if moment > now:
        raise Invalid(_("terms_accepted_at ligger i framtiden."))
    return moment
