"""Compose, review and send messages; the sender's messages (DESIGN.md §3.3)."""

from flask import Blueprint

bp = Blueprint("messaging", __name__)

from portal.messaging import views  # noqa: E402, F401
