"""The recipients' side: terms acceptance, profile, invitations (DESIGN.md §3.4)."""

from flask import Blueprint

bp = Blueprint("people", __name__)

from portal.people import views  # noqa: E402, F401
