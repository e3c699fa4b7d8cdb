"""The operators' activation queue and organisations (DESIGN.md §3.2)."""

from flask import Blueprint

bp = Blueprint("activation", __name__)

from portal.activation import views  # noqa: E402, F401
