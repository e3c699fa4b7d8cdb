"""The package price list: operators set the current price; invoices copy it."""

from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import PackagePrice
from portal.models.audit import record
from portal.models.base import utcnow

MAX_PRICE_ORE = 1_000_000_00  # a million kronor a package: anything above is a typo


class NoPrice(Exception):
    """SMS cannot be activated before an operator has set a package price."""

    def __init__(self):
        super().__init__(_l("Det finns inget paketpris. Ange priset innan SMS aktiveras."))


def current_price(at=None):
    """The price in effect at `at` (now): the newest one that has taken effect, or None."""
    return db.session.execute(
        db.select(PackagePrice)
        .where(PackagePrice.effective_from <= (at or utcnow()))
        .order_by(PackagePrice.effective_from.desc(), PackagePrice.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def require_current_price(at=None):
    price = current_price(at)
    if price is None:
        raise NoPrice()
    return price


def set_price(amount_ore, by):
    """Make `amount_ore` (SEK öre, excl. VAT) the price of every package opened from now on."""
    if not 0 <= amount_ore <= MAX_PRICE_ORE:
        raise ValueError(f"price out of range: {amount_ore}")
    previous = current_price()
    price = PackagePrice(amount_ore=amount_ore, effective_from=utcnow(), set_by_id=by.id)
    db.session.add(price)
    db.session.flush()
    record(
        "price.set",
        actor=by,
        subject=price,
        amount_ore=amount_ore,
        previous_ore=previous.amount_ore if previous else None,
    )
    return price
