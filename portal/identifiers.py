"""Swedish organisation numbers (organisationsnummer)."""

import re

_ORG_NUMBER = re.compile(r"^(?:16)?(\d{6})-?(\d{4})$")


class InvalidOrgNumber(ValueError):
    pass


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def normalise_org_number(value: str) -> str:
    """`NNNNNN-NNNN` from the 10-digit, dashed or 16-prefixed 12-digit form.

    Raises InvalidOrgNumber when the shape, the third digit (≥ 2 for legal
    entities) or the Luhn check digit is wrong.
    """
    match = _ORG_NUMBER.match(value.strip().replace(" ", ""))
    if not match:
        raise InvalidOrgNumber("Ange organisationsnumret som NNNNNN-NNNN.")
    digits = match.group(1) + match.group(2)
    if int(digits[2]) < 2:
        raise InvalidOrgNumber("Det är inte ett organisationsnummer (tredje siffran ska vara 2–9).")
    if not luhn_valid(digits):
        raise InvalidOrgNumber("Organisationsnumret har fel kontrollsiffra.")
    return f"{digits[:6]}-{digits[6:]}"
