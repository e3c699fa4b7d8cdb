"""Removing a person's contact data everywhere ("Ta bort kontaktuppgifter").

`erase_person` clears the person's e-mail address and mobile numbers, their password
and unused links, signs them out everywhere and deactivates them; it blanks their
address on every message they were a recipient of, and recipients not yet sent to are
cancelled (the frozen lists of messages not yet dispatched are expanded into rows first,
so that the same rules apply to them). The name stays, so the history of messages and
the audit log still add up; nothing else names them. A person who is still in the
school's directory file comes back with the file's data at the next import.
"""

from portal.auth.sessions import end_sessions
from portal.extensions import db
from portal.models import Message, PasswordToken, Person, Recipient, RecipientStatus
from portal.models.audit import record
from portal.models.base import utcnow
from portal.people import search
from portal.recipients.frozen import expand

ERASED_ERROR = "contact data erased"


def people_of(organisation, query=""):
    """A select of the organisation's people (active or not), for paging."""
    statement = db.select(Person).where(Person.organisation_id == organisation.id)
    return search.in_name_order(search.matching(statement, query))


def erase_person(person, by):
    """Remove `person`'s contact data everywhere; the caller commits. Bulk SQL only."""
    now = utcnow()
    db.session.execute(
        db.update(Person)
        .where(Person.id == person.id)
        .values(email=None, mobile=None, mobile_rejected=None, password_hash=None, active=False)
        .execution_options(synchronize_session=False)
    )
    end_sessions(person)
    _expand_frozen_lists(person.organisation_id)
    db.session.execute(
        db.delete(PasswordToken)
        .where(PasswordToken.person_id == person.id, PasswordToken.used_at.is_(None))
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        db.update(Recipient)
        .where(Recipient.person_id == person.id, Recipient.status == RecipientStatus.PENDING)
        .values(status=RecipientStatus.CANCELLED, error=ERASED_ERROR, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        db.update(Recipient)
        .where(Recipient.person_id == person.id)
        .values(address="", provider_id=None)
        .execution_options(synchronize_session=False)
    )
    record("person.erased", actor=by, organisation=person.organisation, subject=person)
    db.session.expire(person)


def _expand_frozen_lists(organisation_id):
    """Expand the frozen recipient lists of the organisation's messages not yet dispatched
    (seldom more than one, for seconds), each row locked as the dispatch locks it."""
    pending = db.session.scalars(
        db.select(Message.id)
        .where(Message.organisation_id == organisation_id, Message.frozen_recipients.is_not(None))
        .order_by(Message.id)
        .with_for_update()
    ).all()
    for message_id in pending:
        expand(message_id)
