"""The recipients' side: terms acceptance, profile, invitations (DESIGN.md §3.4)."""

from flask import Blueprint

from portal.people.terms import require_acceptance

bp = Blueprint("people", __name__)
bp.before_app_request(require_acceptance)

from portal.people import views  # noqa: E402, F401
