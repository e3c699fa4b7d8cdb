"""SMS text: the one place that counts characters, encodings and segments.

GSM 03.38 (7-bit) when every character is in the basic set or the extension table,
otherwise UCS-2 counted in UTF-16 code units. The compose counter, the send jobs and
billing all call `count()` / `segments()` on the same `normalise()`d text, so what the
teacher sees is what is sent and what is charged.
"""

import unicodedata
from dataclasses import dataclass
from typing import Literal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

GSM: Literal["GSM"] = "GSM"
UCS2: Literal["UCS-2"] = "UCS-2"

GSM_SINGLE = 160
GSM_PART = 153
UCS2_SINGLE = 70
UCS2_PART = 67
MAX_SEGMENTS = 6

# GSM 03.38 basic character set, one septet each. 0x1B (ESC) is left out on purpose: it
# is the switch to the extension table, not a character a message can contain, so a
# literal U+001B in the text is a control character like any other (and forces UCS-2).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039eÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: ESC + one septet, so two septets each.
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")


@dataclass(frozen=True)
class SmsCount:
    """What a text costs: `units` are septets (GSM) or UTF-16 code units (UCS-2);
    `per_segment` is the single-SMS limit while the text fits in one, else the
    concatenated one; `unicode_characters` are the distinct characters forcing UCS-2."""

    encoding: Literal["GSM", "UCS-2"]
    characters: int
    units: int
    segments: int
    per_segment: int
    remaining_in_segment: int
    unicode_characters: tuple[str, ...]

    @property
    def is_unicode(self) -> bool:
        return self.encoding == UCS2

    @property
    def too_long(self) -> bool:
        return self.segments > MAX_SEGMENTS


class TooLong(ValueError):
    """The text needs more than MAX_SEGMENTS SMS; `count` says how many."""

    def __init__(self, count: SmsCount):
        super().__init__(count.segments)
        self.count = count

    def __str__(self) -> str:
        return _(
            "SMS:et blir %(n)d delar. Det får vara högst %(max)d SMS långt – korta texten.",
            n=self.count.segments,
            max=MAX_SEGMENTS,
        )


def normalise(text: str) -> str:
    """The text as it is counted and sent: CRLF and lone CR become LF (browsers submit
    CRLF; a line break costs one septet), and Unicode NFC, so an å typed as a + ring
    (pasted from some PDFs and Macs) is the GSM å it looks like. Nothing else changes:
    spaces, including trailing ones, are the user's text and are kept."""
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))


def _is_gsm(char: str) -> bool:
    return char in GSM_BASIC or char in GSM_EXTENSION


def _gsm_units(char: str) -> int:
    return 2 if char in GSM_EXTENSION else 1


def _ucs2_units(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1


def _unicode_characters(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(char for char in text if not _is_gsm(char)))


def _split(text: str, units, limit: int) -> list[tuple[int, int, int]]:
    """(start, end, units) of each segment: walks character by character and starts a
    new segment when the next character does not fit, so an escape pair or a surrogate
    pair never straddles two segments."""
    parts = []
    start = used = 0
    for index, char in enumerate(text):
        size = units(char)
        if used + size > limit:
            parts.append((start, index, used))
            start, used = index, 0
        used += size
    if used:
        parts.append((start, len(text), used))
    return parts


def _layout(text: str) -> tuple[Literal["GSM", "UCS-2"], tuple[str, ...], list]:
    unicode_characters = _unicode_characters(text)
    if unicode_characters:
        encoding, units, single, part = UCS2, _ucs2_units, UCS2_SINGLE, UCS2_PART
    else:
        encoding, units, single, part = GSM, _gsm_units, GSM_SINGLE, GSM_PART
    total = sum(units(char) for char in text)
    parts = _split(text, units, single if total <= single else part)
    return encoding, unicode_characters, parts


def count(text: str) -> SmsCount:
    """Count `text` (normalised first). An empty text is 0 segments."""
    text = normalise(text)
    encoding, unicode_characters, parts = _layout(text)
    single, part = (UCS2_SINGLE, UCS2_PART) if encoding == UCS2 else (GSM_SINGLE, GSM_PART)
    per_segment = part if len(parts) > 1 else single
    return SmsCount(
        encoding=encoding,
        characters=len(text),
        units=sum(used for _start, _end, used in parts),
        segments=len(parts),
        per_segment=per_segment,
        remaining_in_segment=per_segment - (parts[-1][2] if parts else 0),
        unicode_characters=unicode_characters,
    )


def segments(text: str) -> list[str]:
    """The normalised text split exactly as it is sent, one string per SMS."""
    text = normalise(text)
    _encoding, _unicode, parts = _layout(text)
    return [text[start:end] for start, end, _used in parts]


def check_length(text: str) -> SmsCount:
    """The count of `text`, or TooLong when it needs more than MAX_SEGMENTS SMS."""
    result = count(text)
    if result.too_long:
        raise TooLong(result)
    return result


_QUOTES = dict.fromkeys("‘’‚‛′‹›`´", "'") | dict.fromkeys("“”„‟″«»", '"')
_DASHES = dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043", "-")
_BULLETS = dict.fromkeys("•◦▪‣", "-")
_SPACES = dict.fromkeys(
    "\t\u00a0\u1680\u202f\u205f\u3000" + "".join(map(chr, range(0x2000, 0x200B))), " "
)
_ELLIPSIS = {"…": "..."}
_LINES = dict.fromkeys("\u2028\u2029", "\n")
# Invisible characters that Word, Outlook and web pages leave behind: zero-width space,
# zero-width non-joiner, word joiner, byte order mark, soft hyphen, direction marks.
# The zero-width joiner stays: it is part of emoji (👨‍👩‍👧), which are Unicode anyway.
_INVISIBLE = dict.fromkeys("\u200b\u200c\u2060\ufeff\u00ad\u200e\u200f", "")
_CONTROLS = {
    chr(code): "" for code in [*range(0x20), *range(0x7F, 0xA0)] if chr(code) not in "\n\f\t"
}
TYPOGRAPHIC = _QUOTES | _DASHES | _ELLIPSIS | _BULLETS | _SPACES | _LINES | _INVISIBLE | _CONTROLS
_TYPOGRAPHIC_TABLE = str.maketrans(TYPOGRAPHIC)


def replace_typographic(text: str) -> str:
    """The normalised text with typographic quotes, dashes, the ellipsis, bullets and
    special spaces replaced by their GSM equivalents and invisible and control
    characters removed. Letters are never touched: ç, á or emoji stay as they are."""
    return normalise(normalise(text).translate(_TYPOGRAPHIC_TABLE))


_NAMES = {
    "\t": _l("tabb"),
    "\u00a0": _l("hårt mellanslag"),
    "\u202f": _l("smalt hårt mellanslag"),
    "\u2009": _l("tunt mellanslag"),
    "\u200b": _l("osynligt mellanslag"),
    "\u00ad": _l("mjukt bindestreck"),
    "\u2028": _l("radbrytning från Word"),
    "\u2029": _l("styckebrytning från Word"),
}
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"}
_SHOWN = 5


def character_name(char: str) -> str:
    """How the counter shows a character: itself when visible, a Swedish name when it
    is a space or invisible, and a combining accent on a dotted circle."""
    if char in _NAMES:
        return str(_NAMES[char])
    category = unicodedata.category(char)
    if category in _INVISIBLE_CATEGORIES:
        name = _("mellanslag") if category == "Zs" else _("osynligt tecken")
        return f"{name} (U+{ord(char):04X})"
    if category.startswith("M"):
        return "\u25cc" + char
    return char


def _and(names: list[str], more: int) -> str:
    if more:
        return _("%(shown)s och %(n)d tecken till", shown=", ".join(names), n=more)
    if len(names) == 1:
        return names[0]
    return _("%(first)s och %(last)s", first=", ".join(names[:-1]), last=names[-1])


def describe_unicode(chars) -> str:
    """Swedish sentence naming the characters that force UCS-2, e.g. "’ och – gör att
    SMS:et skickas som Unicode, 70 tecken per SMS"; empty when there are none."""
    names = [character_name(char) for char in chars]
    if not names:
        return ""
    if len(names) > _SHOWN + 1:
        listed = _and(names[:_SHOWN], len(names) - _SHOWN)
    else:
        listed = _and(names, 0)
    return _(
        "%(characters)s gör att SMS:et skickas som Unicode, %(limit)d tecken per SMS",
        characters=listed,
        limit=UCS2_SINGLE,
    )
