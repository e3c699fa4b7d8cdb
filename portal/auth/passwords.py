"""Password checks that take the same time whether or not the account exists."""

from werkzeug.security import check_password_hash, generate_password_hash

from portal.extensions import db
from portal.models import Person
from portal.models.base import utcnow

_DUMMY_HASH = generate_password_hash("not-a-real-password")


def set_password(person, password):
    person.password_hash = generate_password_hash(password)


def account(email):
    """The person with this e-mail address (active or not), or None."""
    return db.session.execute(
        db.select(Person).where(Person.email == email.strip().lower())
    ).scalar_one_or_none()


def authenticate(email, password):
    """The active person with this e-mail and password, or None."""
    person = account(email)
    usable = person is not None and person.active and person.password_hash
    if not check_password_hash(person.password_hash if usable else _DUMMY_HASH, password):
        return None
    if not usable:
        return None
    person.last_login_at = utcnow()
    db.session.commit()
    return person
