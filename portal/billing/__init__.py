"""Prices, packages, invoices and the organisation's own billing page (DESIGN.md §3.5)."""

from flask import Blueprint

bp = Blueprint("billing", __name__)

from portal.billing import views  # noqa: E402, F401
