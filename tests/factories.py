"""Test data with sensible defaults; every call makes a new, valid, committed row."""

import itertools

from portal.auth.passwords import set_password
from portal.extensions import db
from portal.identifiers import luhn_valid
from portal.models import Group, Organisation, OrgKind, Person, Role, School, SmsStatus
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


def _org_number(n):
    """A fresh valid organisationsnummer: 556 + 6 digits from n + Luhn check digit."""
    body = f"556{n:06d}"
    check = next(d for d in range(10) if luhn_valid(body + str(d)))
    return f"{body[:6]}-{body[6:]}{check}"


def _save(obj):
    db.session.add(obj)
    db.session.commit()
    return obj
