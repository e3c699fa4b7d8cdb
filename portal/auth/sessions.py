"""Signed-in sessions: a fresh session at every sign-in, and a sign-out that sticks.

Sessions are signed cookies, so the server cannot delete one. Instead the session
carries the person's `session_version` (Person.get_id) and the user loader accepts
it only while it matches: signing out bumps the version, and every earlier cookie
of that person, replayed or stolen, stops working.
"""

from flask import request, session
from flask_login import login_user, logout_user

from portal.database import write_transaction
from portal.extensions import db, login_manager
from portal.models import Person
from portal.models.audit import record

KEPT_ACROSS_SIGN_IN = ("lang",)


@login_manager.user_loader
def load_person(session_id):
    person_id, _, version = session_id.partition(".")
    if not (person_id.isdigit() and version.isdigit()):
        return None
    person = db.session.get(Person, int(person_id))
    if person is None or not person.active or person.session_version != int(version):
        return None
    return person


def sign_in(person):
    """Start a new session for `person`: nothing from the session before survives
    (no fixation), except the chosen language. Commits the audit event."""
    kept = {name: session[name] for name in KEPT_ACROSS_SIGN_IN if name in session}
    session.clear()
    session.update(kept)
    login_user(person)
    record_login("login.succeeded", person)


def sign_out(person):
    """End this and every other session of `person`, audited; commits."""
    with write_transaction():
        end_sessions(person)
        _record_sign_in_event("login.signed_out", person)
    kept = {name: session[name] for name in KEPT_ACROSS_SIGN_IN if name in session}
    logout_user()
    session.clear()
    session.update(kept)


def end_sessions(person):
    """Make every session cookie issued to `person` so far invalid; the caller commits."""
    db.session.execute(
        db.update(Person)
        .where(Person.id == person.id)
        .values(session_version=Person.session_version + 1)
    )


def record_login(action, person):
    """Audit a sign-in or a failed attempt, committed; `person` is None for an unknown
    account. The typed e-mail address is not recorded (it may be a mistyped password).

    A write transaction of its own: the request has read before, and on SQLite a read
    transaction cannot turn into a write once another process has written."""
    with write_transaction():
        _record_sign_in_event(action, person)


def _record_sign_in_event(action, person):
    record(
        action,
        actor=person,
        organisation=person.organisation if person is not None else None,
        subject=person,
        ip=request.remote_addr,
    )
