"""Invitations: a single-use, time-limited link by e-mail to set a password.

Only a SHA-256 hash of a link's secret is stored. The secret is drawn when the
mail is written (`new_secret`, in the mail job), so it exists only in the mail:
not in the database, not in Redis. A new invitation ends the person's earlier
links, so at most one link per person works at a time.
"""

import hashlib
import secrets
from datetime import timedelta

from portal.auth.passwords import set_password
from portal.database import write_transaction
from portal.extensions import db
from portal.models import PasswordToken, Person, Role
from portal.models.audit import record
from portal.models.base import utcnow
from portal.people import search

VALID_FOR = timedelta(hours=72)
MAX_SECRET_LENGTH = 100


def token_hash(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


def may_be_invited(person):
    """Active, not an operator, with an e-mail address and no password yet."""
    return (
        person.active
        and person.role != Role.OPERATOR
        and bool(person.email)
        and not person.password_hash
    )


def invite(person, by):
    """A new link for `person`, ending their earlier ones; the caller commits and mails it."""
    now = utcnow()
    _end_links(person, now)
    token = PasswordToken(
        person_id=person.id,
        token_hash=token_hash(secrets.token_urlsafe(32)),  # replaced when the mail is written
        created_at=now,
        expires_at=now + VALID_FOR,
        created_by_id=by.id,
    )
    db.session.add(token)
    db.session.flush()
    record(
        "invitation.created",
        actor=by,
        organisation=person.organisation,
        subject=person,
        token_id=token.id,
    )
    return token


def is_usable(token, now=None):
    return token.used_at is None and token.expires_at > (now or utcnow())


def new_secret(token):
    """Draw the secret the mail carries and store its hash (commits); earlier ones stop working."""
    secret = secrets.token_urlsafe(32)
    token.token_hash = token_hash(secret)
    db.session.commit()
    return secret


def find(secret):
    """The token behind a link's secret (usable or not), or None."""
    if not secret or len(secret) > MAX_SECRET_LENGTH:
        return None
    return db.session.execute(
        db.select(PasswordToken).where(PasswordToken.token_hash == token_hash(secret))
    ).scalar_one_or_none()


def use(secret, password):
    """Set the password behind a usable link and use the link up, in one transaction.

    Returns the person, or None when the link is unknown, used, expired or its
    person inactive. Two submits of the same link set the password once.
    """
    with write_transaction():
        now = utcnow()
        token = find(secret)
        if token is None:
            return None
        claimed = db.session.execute(
            db.update(PasswordToken)
            .where(
                PasswordToken.id == token.id,
                PasswordToken.used_at.is_(None),
                PasswordToken.expires_at > now,
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        person = db.session.get(Person, token.person_id)
        if claimed != 1 or not person.active:
            db.session.rollback()
            return None
        set_password(person, password)
        person.last_login_at = now
        _end_links(person, now)
        record(
            "password.set",
            actor=person,
            organisation=person.organisation,
            subject=person,
            token_id=token.id,
        )
    return person


def _end_links(person, now):
    db.session.execute(
        db.update(PasswordToken)
        .where(
            PasswordToken.person_id == person.id,
            PasswordToken.used_at.is_(None),
            PasswordToken.expires_at > now,
        )
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )


def invitees(organisation, query=""):
    """A select of the people of `organisation` who may be invited, for paging."""
    statement = db.select(Person).where(
        Person.organisation_id == organisation.id,
        Person.active.is_(True),
        Person.email.is_not(None),
        Person.password_hash.is_(None),
    )
    return search.in_name_order(search.matching(statement, query))


def latest_links(people):
    """person id → that person's newest link, for the people on one page."""
    ids = [person.id for person in people]
    if not ids:
        return {}
    tokens = db.session.scalars(
        db.select(PasswordToken)
        .where(PasswordToken.person_id.in_(ids))
        .order_by(PasswordToken.created_at, PasswordToken.id)
    )
    return {token.person_id: token for token in tokens}
