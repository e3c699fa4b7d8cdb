"""Directory test data: schools, classes with students and guardians, staff with duties.

People made here have accepted the terms, have an e-mail address and a mobile number
from the series PTS reserves for fiction (070-1740605–699), and no password (hashing
is slow and recipients need none); pass fields to change any of that.
"""

from datetime import UTC, datetime

from portal.extensions import db
from portal.models import Role
from tests.factories import Factory

ACCEPTED_AT = datetime(2025, 8, 20, 8, 0, tzinfo=UTC)
FICTION_FIRST, FICTION_LAST = 1740605, 1740699


class Directory:
    """Builds one organisation's directory; every call commits."""

    def __init__(self, make: Factory, organisation=None):
        self.make = make
        self.organisation = organisation or make.org()
        self._numbers = iter(range(FICTION_FIRST, FICTION_LAST + 1))

    def number(self):
        """The next unused fictional mobile number, E.164."""
        return f"+4670{next(self._numbers)}"

    def person(self, role, *, groups=(), schools=(), **fields):
        fields.setdefault("terms_accepted_at", ACCEPTED_AT)
        if "mobile" not in fields:
            fields["mobile"] = self.number()
        person = self.make.person(role, self.organisation, password=None, **fields)
        person.groups.extend(groups)
        person.schools.extend(schools)
        db.session.commit()
        return person

    def school(self, name=None):
        return self.make.school(self.organisation, name)

    def group(self, school, name=None):
        return self.make.group(school, name)

    def student(self, *groups, **fields):
        return self.person(Role.STUDENT, groups=groups, **fields)

    def guardian(self, *children, **fields):
        guardian = self.person(Role.GUARDIAN, **fields)
        guardian.children.extend(children)
        db.session.commit()
        return guardian

    def staff(self, school, *groups, role=Role.STAFF, **fields):
        """A staff member (or principal) with a duty at `school`, member of `groups`."""
        return self.person(role, groups=groups, schools=[school] if school else [], **fields)

    def principal(self, school, *groups, **fields):
        return self.staff(school, *groups, role=Role.PRINCIPAL, **fields)

    def admin(self, **fields):
        return self.person(Role.ADMIN, **fields)

    def school_class(self, school, *, students=3, guardians=2, name=None):
        """A group with `students` students, each with `guardians` guardians of their own."""
        group = self.group(school, name)
        for _ in range(students):
            child = self.student(group)
            for _ in range(guardians):
                self.guardian(child)
        return group
