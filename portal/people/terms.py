"""Accepting the terms: nobody but operators uses the portal before reading "Om SMS-portalen".

Recipients get SMS only once they have accepted (DESIGN.md §1), so the portal
sends every signed-in person who has not to the about page, whatever they open.
"""

from urllib.parse import urlsplit

from flask import redirect, request, url_for
from flask_login import current_user

from portal.htmx import is_htmx
from portal.models import Role
from portal.models.audit import record
from portal.models.base import utcnow

# Pages a person may open before accepting: the about page itself, the way out,
# what the portal needs to work, and the public pages that need no terms.
EXEMPT_ENDPOINTS = {
    "people.about",
    "people.set_password",
    "auth.logout",
    "main.healthz",
    "main.language",
    "static",
}
EXEMPT_BLUEPRINTS = {"orders"}


def needs_acceptance(person):
    """True for a signed-in person (not an operator) who has not accepted the terms."""
    if not person.is_authenticated or person.role == Role.OPERATOR:
        return False
    return person.terms_accepted_at is None


def accept_terms(person):
    """Record that `person` has read the information; the caller commits. Idempotent."""
    if person.terms_accepted_at is not None:
        return False
    person.terms_accepted_at = utcnow()
    record("terms.accepted", actor=person, organisation=person.organisation, subject=person)
    return True


def require_acceptance():
    """A before-request hook: send people who have not accepted to the about page."""
    endpoint = request.endpoint
    if endpoint is None or endpoint in EXEMPT_ENDPOINTS or request.blueprint in EXEMPT_BLUEPRINTS:
        return None
    if not needs_acceptance(current_user):
        return None
    target = url_for("people.about", next=_return_path())
    if is_htmx():
        return "", 204, {"HX-Redirect": target}
    return redirect(target)


def _return_path():
    """Where to go once accepted: this page, or for HTMX the page the request came from."""
    if is_htmx():
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        return current.path + (f"?{current.query}" if current.query else "") or None
    if request.method != "GET":
        return None
    return request.full_path if request.query_string else request.path
