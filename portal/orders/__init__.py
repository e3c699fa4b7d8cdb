"""The public SMS order form, its receipt and the private status page (DESIGN.md §3.1)."""

from flask import Blueprint

bp = Blueprint("orders", __name__)

from portal.orders import views  # noqa: E402, F401
