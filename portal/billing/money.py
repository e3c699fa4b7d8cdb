"""Kronor and öre: Swedish amounts typed by people, VAT, and amounts for CSV.

Money is held in öre (integers) everywhere; only text at the edges is kronor.
"""

import re
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import format_decimal

VAT_PERCENT = 25

# "4500", "4 500", "4 500,00", "4500,5", "4500.50", "4 500 kr": spaces group the thousands
# (also the no-break spaces Excel and Babel write); comma or dot before at most two decimals.
_AMOUNT = re.compile(r"(?P<kronor>\d{1,3}(?: \d{3})+|\d+)(?:[,.](?P<ore>\d{1,2}))?")
_SPACES = re.compile(r"[\s\u00a0\u202f]+")
# "4,500.00" as the English pages show amounts: commas group thousands, the point is decimal.
_ENGLISH_GROUPING = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?")


class InvalidAmount(ValueError):
    """Text that is not an amount in kronor."""


def parse_kronor(text):
    """'4 500,00 kr' (or '4,500.00') → 450000 (öre). Raises InvalidAmount for anything else."""
    value = _SPACES.sub(" ", (text or "").strip())
    value = re.sub(r"\s*(kr|kronor|sek)\.?$", "", value, flags=re.IGNORECASE)
    if _ENGLISH_GROUPING.fullmatch(value):
        value = value.replace(",", " ")
    match = _AMOUNT.fullmatch(value)
    if match is None:
        raise InvalidAmount(text)
    kronor = int(match["kronor"].replace(" ", ""))
    ore = int((match["ore"] or "0").ljust(2, "0"))
    return kronor * 100 + ore


def vat_ore(amount_ore):
    """25 % VAT on an amount in öre, rounded half up to whole öre."""
    return (amount_ore * VAT_PERCENT + 50) // 100


def unit_price(amount_ore, quantity):
    """The price of one unit in kronor: to the öre when that is exact (4 500 kr for 10 000
    → '0,45'), else to the hundredth of an öre (4 999 kr → '0,4999'), so that quantity ×
    unit price gives the amount for any whole-krona package price."""
    exact = (Decimal(amount_ore) / 100 / quantity).quantize(
        Decimal("0.0001"), rounding=ROUND_HALF_UP
    )
    text = f"{exact:.4f}"
    while text.endswith("0") and len(text.partition(".")[2]) > 2:
        text = text[:-1]
    return text.replace(".", ",")


def decimal_comma(ore):
    """450000 → '4500,00': kronor with a decimal comma and no grouping, for CSV cells."""
    kronor = Decimal(ore) / 100
    return f"{kronor:.2f}".replace(".", ",")


def kronor(ore):
    """450000 → '4 500,00 kr' in the current language's number format; the spaces do not
    break, so an amount never wraps over two lines."""
    return f"{format_decimal(Decimal(ore) / 100, format='#,##0.00')}\u00a0kr"
