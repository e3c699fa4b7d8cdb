"""Field helpers every form shares."""

import sys
import unicodedata
from types import SimpleNamespace

import pytest
from wtforms.validators import ValidationError

from portal.forms import PlainText


@pytest.mark.parametrize("multiline", [False, True])
def test_plain_text_refuses_exactly_control_format_private_and_surrogate_characters(multiline):
    check = PlainText(multiline=multiline)
    refused = {"Cc", "Co", "Cs"} | (set() if multiline else {"Cf"})
    allowed = {"\n", "\t"} if multiline else set()
    for code in [*range(0x11000), *range(0xE0000, 0xE0080), 0xF0000, sys.maxunicode]:
        char = chr(code)
        field = SimpleNamespace(data=f"Skola {char} AB")
        expected = unicodedata.category(char) in refused and char not in allowed
        try:
            check(None, field)
        except ValidationError:
            assert expected, hex(code)
        else:
            assert not expected, hex(code)
