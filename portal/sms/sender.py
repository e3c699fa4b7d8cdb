"""The sender id an SMS shows instead of a phone number: the one rule, free of Flask,
so the configuration loader, the provider adapters and the test server share it.

46elks' text sender ids are safe as ASCII letters and digits; spaces and full stops
reach the operators but some phones drop or mangle them, and å, ä, ö are filtered by
many operators. A hyphen is kept allowed: it is GSM basic and the default `SMS-portal`
uses it. At least one letter, so a sender never looks like a phone number.
"""

import re

MAX_LENGTH = 11
_SENDER = re.compile(rf"[A-Za-z0-9-]{{1,{MAX_LENGTH}}}")
_LETTER = re.compile(r"[A-Za-z]")


def is_valid_sender(name: str) -> bool:
    """1–11 characters of A–Z, a–z, 0–9 and '-', with at least one letter."""
    return bool(_SENDER.fullmatch(name) and _LETTER.search(name))
