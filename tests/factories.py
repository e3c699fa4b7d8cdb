"""Test data with sensible defaults; every call makes a new, valid, committed row."""

import itertools

from portal.auth.passwords import set_password
from portal.extensions import db
from portal.identifiers import luhn_valid
from portal.models import (
    Channel,
    Group,
    Message,
    MessageStatus,
    Organisation,
    OrgKind,
    Person,
    Recipient,
    RecipientStatus,
    Role,
    School,
    SmsStatus,
)
from portal.models.base import utcnow

_numbers = itertools.count(1)


class Factory:
    PASSWORD = "rätt-lösenord-123"

    def org(self, *, kind=OrgKind.KOMMUN, name=None, org_number=None, sms=SmsStatus.ACTIVE):
        n = next(_numbers)
        organisation = Organisation(
            kind=kind,
            name=name or f"Testkommun {n}",
            org_number=org_number or _org_number(n),
            sms_status=sms,
            sms_activated_at=utcnow() if sms == SmsStatus.ACTIVE else None,
        )
        return _save(organisation)

    def school(self, organisation, name=None):
        return _save(School(organisation=organisation, name=name or f"Skola {next(_numbers)}"))

    def group(self, school, name=None):
        return _save(
            Group(
                school=school,
                organisation_id=school.organisation_id,
                name=name or f"Klass {next(_numbers)}",
            )
        )

    def person(self, role=Role.STAFF, organisation=None, *, password=PASSWORD, **fields):
        n = next(_numbers)
        if role != Role.OPERATOR and organisation is None:
            organisation = self.org()
        fields.setdefault("email", f"person{n}@example.se")
        fields.setdefault("given_name", f"Förnamn{n}")
        fields.setdefault("family_name", f"Efternamn{n}")
        fields.setdefault("terms_accepted_at", utcnow())
        person = Person(role=role, organisation=organisation, **fields)
        if password:
            set_password(person, password)
        return _save(person)

    def message(self, author=None, *, status=MessageStatus.SENDING, **fields):
        """A message by `author` (a new staff member when None) in their organisation."""
        author = author or self.person()
        fields.setdefault("subject", f"Meddelande {next(_numbers)}")
        fields.setdefault("send_sms", True)
        return _save(
            Message(
                organisation_id=author.organisation_id, author_id=author.id, status=status, **fields
            )
        )

    def recipient(self, message, person=None, *, channel=Channel.SMS, **fields):
        """One recipient row of `message`; an SMS one has a fresh mobile number."""
        person = person or self.person(Role.GUARDIAN, message.organisation)
        if "address" not in fields:
            fields["address"] = (
                f"+4670{next(_numbers):07d}" if channel == Channel.SMS else person.email
            )
        fields.setdefault("status", RecipientStatus.PENDING)
        return _save(
            Recipient(message_id=message.id, person_id=person.id, channel=channel, **fields)
        )


def _org_number(n):
    """A fresh valid organisationsnummer: 556 + 6 digits from n + Luhn check digit."""
    body = f"556{n:06d}"
    check = next(d for d in range(10) if luhn_valid(body + str(d)))
    return f"{body[:6]}-{body[6:]}{check}"


def _save(obj):
    db.session.add(obj)
    db.session.commit()
    return obj
