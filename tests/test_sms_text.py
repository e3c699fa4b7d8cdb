"""SMS segment counting: a table of edge cases at every boundary, and properties."""

import math
import unicodedata

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from portal.sms.text import (
    GSM_BASIC,
    GSM_EXTENSION,
    MAX_SEGMENTS,
    TYPOGRAPHIC,
    TooLong,
    check_length,
    count,
    describe_unicode,
    normalise,
    replace_typographic,
    segments,
)

EMOJI = "😀"  # outside the BMP: a surrogate pair, 2 UTF-16 units


BOUNDARIES = [
    ("", "GSM", 0, 0),
    ("a", "GSM", 1, 1),
    ("a" * 160, "GSM", 160, 1),
    ("a" * 161, "GSM", 161, 2),
    ("a" * 306, "GSM", 306, 2),
    ("a" * 307, "GSM", 307, 3),
    ("a" * 918, "GSM", 918, 6),
    ("a" * 919, "GSM", 919, 7),
    ("ç" * 70, "UCS-2", 70, 1),
    ("ç" * 71, "UCS-2", 71, 2),
    ("ç" * 134, "UCS-2", 134, 2),
    ("ç" * 135, "UCS-2", 135, 3),
    ("ç" * 402, "UCS-2", 402, 6),
    ("ç" * 403, "UCS-2", 403, 7),
    ("a" * 158 + "€", "GSM", 160, 1),
    ("a" * 159 + "€", "GSM", 161, 2),
    ("€" * 80, "GSM", 160, 1),
    ("€" * 81, "GSM", 162, 2),
    ("a" * 69 + EMOJI, "UCS-2", 71, 2),
    ("a" * 68 + EMOJI, "UCS-2", 70, 1),
    (EMOJI * 35, "UCS-2", 70, 1),
    ("Föräldramöte på torsdag", "GSM", 23, 1),
    ("Föräldramöte på torsdag’", "UCS-2", 24, 1),
]


@pytest.mark.parametrize(
    ("text", "encoding", "units", "parts"),
    BOUNDARIES,
    ids=[f"{len(text)}:{text[-8:]!r}" for text, *_ in BOUNDARIES],
)
def test_boundaries(text, encoding, units, parts):
    result = count(text)
    assert (result.encoding, result.units, result.segments) == (encoding, units, parts)
    assert len(segments(text)) == parts


def test_an_escape_pair_moves_to_the_next_segment_rather_than_straddle():
    text = "a" * 152 + "€" + "b" * 10
    assert [len(part) for part in segments(text)] == [152, 11]
    assert segments(text)[1].startswith("€")
    result = count(text)
    assert (result.units, result.segments, result.per_segment) == (164, 2, 153)
    assert result.remaining_in_segment == 153 - 12


def test_an_escape_pair_that_just_fits_stays():
    assert [len(part) for part in segments("a" * 151 + "€" + "b" * 10)] == [152, 10]


def test_a_surrogate_pair_moves_to_the_next_segment_rather_than_straddle():
    text = "ç" * 66 + EMOJI + "ç" * 10
    parts = segments(text)
    assert parts == ["ç" * 66, EMOJI + "ç" * 10]
    assert count(text).remaining_in_segment == 67 - 12


def test_moved_pairs_can_cost_an_extra_segment():
    """918 septets are 6 segments of 153 only when no pair has to move."""
    assert count("a" * 916 + "€").segments == 6
    assert count("a" * 152 + "€" + "a" * 764).segments == 7


@pytest.mark.parametrize("line_break", ["\r\n", "\n", "\r"])
def test_a_line_break_is_one_septet(line_break):
    result = count("Hej" + line_break + "då")
    assert (result.encoding, result.units, result.characters) == ("GSM", 6, 6)
    assert normalise("Hej" + line_break + "då") == "Hej\ndå"


def test_160_characters_typed_with_browser_line_breaks_fit_one_sms():
    assert count(("a" * 39 + "\r\n") * 4).segments == 1


def test_normalise_keeps_the_users_spaces():
    assert normalise("  Hej \r\n\r\n") == "  Hej \n\n"


def test_normalise_composes_decomposed_letters_into_gsm_ones():
    decomposed = unicodedata.normalize("NFD", "Föräldramöte på torsdag")
    assert decomposed != "Föräldramöte på torsdag"
    assert count(decomposed).encoding == "GSM"
    assert count(decomposed).characters == 23


@pytest.mark.parametrize("char", list("åäöÅÄÖéÉüÜÆØÑßà@£$¥¤§¡¿_ΔΦΓΛΩΠΨΣΘΞ"))
def test_gsm_basic_letters_are_one_septet(char):
    assert (count(char).encoding, count(char).units) == ("GSM", 1)


@pytest.mark.parametrize("char", ["€", "[", "]", "{", "}", "\\", "^", "~", "|", "\f"])
def test_extension_characters_are_two_septets(char):
    assert (count(char).encoding, count(char).units) == ("GSM", 2)


@pytest.mark.parametrize(
    "char", ["ç", "’", "–", "…", "\u00a0", "`", "á", "\x1b", "\u0394\u0301", "\u2206"]
)
def test_characters_outside_gsm_force_unicode(char):
    """Lower-case ç is not GSM (only Ç is), nor is the increment sign that looks like Δ."""
    assert count(char).encoding == "UCS-2"


def test_the_ohm_sign_is_normalised_to_the_gsm_omega():
    assert (count("\u2126").encoding, segments("\u2126")) == ("GSM", ["\u03a9"])


def test_the_gsm_alphabet_is_exactly_the_03_38_table():
    assert len(GSM_BASIC) == 127  # 128 code points less ESC
    assert {"\u0394", "\u03a9", "Ç", "\n", "\r", "¤"} <= GSM_BASIC
    assert not {"ç", "`", "\x1b", "\u2126", "\u2206"} & GSM_BASIC
    assert len(GSM_EXTENSION) == 10


def test_an_emoji_is_two_units():
    result = count(EMOJI)
    assert (result.encoding, result.characters, result.units) == ("UCS-2", 1, 2)


def test_the_count_reports_the_distinct_unicode_characters_in_order():
    result = count("”Hej” – sa hon’ – ”hej”")
    assert result.unicode_characters == ("”", "–", "’")
    assert result.is_unicode
    assert (result.per_segment, result.remaining_in_segment) == (70, 70 - 23)


def test_an_empty_text_is_no_sms():
    result = count("")
    assert (result.segments, result.units, result.characters) == (0, 0, 0)
    assert segments("") == []
    assert check_length("") == result


def test_check_length_allows_six_and_refuses_seven():
    assert MAX_SEGMENTS == 6
    assert check_length("a" * 918).segments == 6
    with pytest.raises(TooLong) as refused:
        check_length("a" * 919)
    assert refused.value.count.segments == 7
    assert str(refused.value) == (
        "SMS:et blir 7 delar. Det får vara högst 6 SMS långt – korta texten."
    )


@pytest.mark.parametrize(
    ("chars", "sentence"),
    [
        ((), ""),
        (("’",), "’ gör att SMS:et skickas som Unicode, 70 tecken per SMS"),
        (("’", "–"), "’ och – gör att SMS:et skickas som Unicode, 70 tecken per SMS"),
        (("’", "–", "“"), "’, – och “ gör att SMS:et skickas som Unicode, 70 tecken per SMS"),
        (
            ("\u00a0", "\u00ad", "\u200b"),
            "hårt mellanslag, mjukt bindestreck och osynligt mellanslag gör att "
            "SMS:et skickas som Unicode, 70 tecken per SMS",
        ),
        (
            ("\u2003", "\u200d", "\u0301"),
            "mellanslag (U+2003), osynligt tecken (U+200D) och \u25cc\u0301 gör att "
            "SMS:et skickas som Unicode, 70 tecken per SMS",
        ),
        (
            tuple("abcdef"),
            "a, b, c, d, e och f gör att SMS:et skickas som Unicode, 70 tecken per SMS",
        ),
        (
            tuple("abcdefgh"),
            "a, b, c, d, e och 3 tecken till gör att SMS:et skickas som Unicode, 70 tecken per SMS",
        ),
    ],
)
def test_describe_unicode(chars, sentence):
    assert describe_unicode(chars) == sentence


def test_replace_typographic_makes_word_text_gsm():
    pasted = "\ufeff”Välkommen” – ta med\u00a0matsäck…\r\n• kläder\u00ad\u200b efter ‘väder’\t!"
    replaced = replace_typographic(pasted)
    assert replaced == "\"Välkommen\" - ta med matsäck...\n- kläder efter 'väder' !"
    assert count(replaced).encoding == "GSM"


def test_replace_typographic_leaves_letters_and_emoji_alone():
    text = "Ça va, ç’est á la 👨\u200d👩\u200d👧"
    assert replace_typographic(text) == "Ça va, ç'est á la 👨\u200d👩\u200d👧"


def test_a_combining_accent_left_alone_by_a_removed_invisible_character_composes():
    assert replace_typographic("a\u200b\u0308") == "ä"


# Properties. The alphabet mixes GSM, extension, Unicode and astral characters, line
# breaks and the characters replace_typographic targets, so every boundary is reached.
ALPHABET = st.sampled_from(
    [*"aZ0 åÖé€[]{}^~|\\\f\r\n", "ç", "’", "–", "…", "\u00a0", "\u0308", EMOJI, "\U0001f1f8"]
)
TEXT = st.text(alphabet=ALPHABET, max_size=1200) | st.text(max_size=300)
GSM_PLAIN = st.text(alphabet=st.sampled_from(sorted(GSM_BASIC - {"\r"})), max_size=1200)
PROPERTY = settings(max_examples=300, deadline=None)


def _encoded(part: str, encoding: str) -> list[str]:
    """The part as septets (an extension character is ESC + itself) or UTF-16 units."""
    if encoding == "GSM":
        return [
            unit for char in part for unit in (["\x1b", char] if char in GSM_EXTENSION else [char])
        ]
    data = part.encode("utf-16-le", "surrogatepass")
    return [chr(int.from_bytes(data[i : i + 2], "little")) for i in range(0, len(data), 2)]


@PROPERTY
@given(TEXT, TEXT)
def test_counting_is_monotone_in_appended_text(a, b):
    assert count(a + b).segments >= count(a).segments


@PROPERTY
@given(TEXT, TEXT)
def test_joining_never_counts_fewer_segments_than_the_parts(a, b):
    assume(normalise(a + b) == normalise(a) + normalise(b))
    assert count(a + b).segments >= max(count(a).segments, count(b).segments)


def test_joining_can_count_fewer_when_an_accent_joins_the_previous_letter():
    """The one exception to the property above, on purpose: a combining diaeresis
    leading the second part makes "a" an "ä", and the joined text is plain GSM."""
    second = "\u0308" + "b" * 70
    assert count(second).segments == 2
    assert count("a" + second).segments == 1


@PROPERTY
@given(TEXT)
def test_segments_rebuild_the_normalised_text_and_each_fits(text):
    parts = segments(text)
    result = count(text)
    assert "".join(parts) == normalise(text)
    assert len(parts) == result.segments
    limit = {"GSM": 160, "UCS-2": 70}[result.encoding] if len(parts) == 1 else result.per_segment
    encoded = [_encoded(part, result.encoding) for part in parts]
    for units in encoded:
        assert 0 < len(units) <= limit
        if result.encoding == "GSM":
            assert units[-1] != "\x1b"  # no half escape pair
        else:
            assert not "\ud800" <= units[-1] <= "\udbff"  # no lone high surrogate
    assert sum(map(len, encoded)) == result.units
    if parts:
        assert result.remaining_in_segment == result.per_segment - len(encoded[-1])


@PROPERTY
@given(GSM_PLAIN)
def test_plain_gsm_segments_are_the_length_over_153(text):
    length = len(normalise(text))
    expected = (1 if length else 0) if length <= 160 else math.ceil(length / 153)
    assert count(text).segments == expected


@PROPERTY
@given(TEXT)
def test_replace_typographic_removes_every_target_and_is_idempotent(text):
    replaced = replace_typographic(text)
    assert not set(replaced) & (set(TYPOGRAPHIC) | {"\r"})
    assert replace_typographic(replaced) == replaced


@PROPERTY
@given(st.text(alphabet=st.sampled_from([*"aå€ ", *TYPOGRAPHIC]), max_size=300))
def test_replace_typographic_output_of_targets_is_gsm(text):
    assert count(replace_typographic(text)).encoding == "GSM"
