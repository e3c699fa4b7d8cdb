"""Identifiers people type into forms: organisationsnummer, Peppol ID / GLN, e-mail.

Errors carry a Swedish message for the person who typed the value.
"""

import re

from flask_babel import lazy_gettext as _l

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
        raise InvalidOrgNumber(_l("Ange organisationsnumret som NNNNNN-NNNN."))
    digits = match.group(1) + match.group(2)
    if int(digits[2]) < 2:
        raise InvalidOrgNumber(
            _l("Det är inte ett organisationsnummer (tredje siffran ska vara 2–9).")
        )
    if not luhn_valid(digits):
        raise InvalidOrgNumber(_l("Organisationsnumret har fel kontrollsiffra."))
    return f"{digits[:6]}-{digits[6:]}"


class InvalidPeppolId(ValueError):
    pass


def gln_valid(digits: str) -> bool:
    """GS1 check digit of a 13-digit Global Location Number."""
    if len(digits) != 13 or not digits.isdigit():
        return False
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return (10 - total % 10) % 10 == check


def normalise_peppol_id(value: str) -> str:
    """`0007:<organisationsnummer>` or `0088:<GLN>`; a bare GLN becomes `0088:<GLN>`."""
    compact = value.strip().replace(" ", "")
    scheme, _, identifier = compact.rpartition(":")
    if scheme in ("", "0088") and gln_valid(identifier):
        return f"0088:{identifier}"
    if scheme == "0007" and identifier.isdigit() and len(identifier) == 10:
        try:
            return "0007:" + normalise_org_number(identifier).replace("-", "")
        except InvalidOrgNumber:
            pass
    raise InvalidPeppolId(
        _l(
            "Ange Peppol-ID som 0007:organisationsnummer (10 siffror) eller 0088:GLN, "
            "eller ett GLN med 13 siffror."
        )
    )


class InvalidEmail(ValueError):
    pass


_EMAIL_LOCAL = r"[^@\s\"(),:;<>\[\\\]]+"
_EMAIL_DOMAIN = r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
_EMAIL = re.compile(f"^{_EMAIL_LOCAL}@{_EMAIL_DOMAIN}$")


def normalise_email(value: str) -> str:
    """A deliverable-looking address, lower-cased: local@domain.tld, no spaces or quotes."""
    address = value.strip().lower()
    local, _, domain = address.rpartition("@")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidEmail(_l("Ange en e-postadress som namn@exempel.se.")) from None
    address = f"{local}@{domain}"
    if len(address) > 254 or len(local) > 64 or not _EMAIL.match(address):
        raise InvalidEmail(_l("Ange en e-postadress som namn@exempel.se."))
    return address
