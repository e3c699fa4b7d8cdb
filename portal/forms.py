"""Field helpers every form shares: cleaning and Swedish validation messages."""

import unicodedata

from flask_babel import lazy_gettext as _l
from wtforms.validators import DataRequired, Length, ValidationError

# Control, private-use and surrogate code points never belong in a form value;
# format characters (bidi overrides, zero-width) only in free text.
_REFUSED_SINGLE_LINE = {"Cc", "Cf", "Co", "Cs"}
_REFUSED_MULTI_LINE = {"Cc", "Co", "Cs"}
_LINE_BREAKS = {"\n", "\t"}


def clean_text(value):
    """Unicode NFC, CRLF → LF and surrounding whitespace trimmed."""
    if not isinstance(value, str):
        return value
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", value).strip()


def required(message):
    return DataRequired(message=message)


def at_most(count):
    return Length(max=count, message=_l("Högst %(max)d tecken.", max=count))


class PlainText:
    """Refuses control characters; `multiline` text may hold line breaks and tabs."""

    def __init__(self, multiline=False):
        self.refused = _REFUSED_MULTI_LINE if multiline else _REFUSED_SINGLE_LINE
        self.allowed = _LINE_BREAKS if multiline else set()

    def __call__(self, _form, field):
        text = field.data or ""
        for allowed in self.allowed:
            text = text.replace(allowed, "")
        # str.isprintable() is False for every refused category (and a few more), so text
        # that is printable, as nearly all is, needs no look at each character.
        if text.isprintable():
            return
        if any(unicodedata.category(char) in self.refused for char in text):
            raise ValidationError(_l("Texten innehåller otillåtna tecken."))
