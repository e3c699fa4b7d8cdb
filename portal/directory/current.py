"""The organisation's directory as it is before an import, loaded with a few queries."""

from collections import namedtuple
from dataclasses import dataclass, field

from portal.extensions import db
from portal.models import Group, School, duties, group_memberships, guardianships

people = db.metadata.tables["people"]
PERSON_COLUMNS = (
    "id",
    "external_id",
    "role",
    "given_name",
    "family_name",
    "email",
    "mobile",
    "mobile_rejected",
    "terms_accepted_at",
    "protected_identity",
    "active",
)
CHUNK = 500
PersonRow = namedtuple("PersonRow", PERSON_COLUMNS)


@dataclass
class CurrentDirectory:
    by_external_id: dict = field(default_factory=dict)  # external_id → person row
    unlinked_by_email: dict = field(default_factory=dict)  # people without external_id
    schools_by_external_id: dict = field(default_factory=dict)
    schools_by_name: dict = field(default_factory=dict)  # casefolded name → School
    groups_by_external_id: dict = field(default_factory=dict)
    groups_by_name: dict = field(default_factory=dict)  # (school id, casefolded name) → Group
    memberships: dict = field(default_factory=dict)  # person id → {group id}
    duties: dict = field(default_factory=dict)  # person id → {school id}
    children: dict = field(default_factory=dict)  # guardian id → {student id}


def load(organisation_id):
    current = CurrentDirectory()
    columns = [people.c[name] for name in PERSON_COLUMNS]
    for row in db.session.execute(
        db.select(*columns).where(people.c.organisation_id == organisation_id)
    ):
        row = PersonRow._make(row)
        if row.external_id is not None:
            current.by_external_id[row.external_id] = row
        elif row.email:
            current.unlinked_by_email[row.email] = row
    for school in db.session.scalars(
        db.select(School).where(School.organisation_id == organisation_id)
    ):
        current.schools_by_name[school.name.casefold()] = school
        if school.external_id:
            current.schools_by_external_id[school.external_id] = school
    for group in db.session.scalars(
        db.select(Group).where(Group.organisation_id == organisation_id)
    ):
        current.groups_by_name[(group.school_id, group.name.casefold())] = group
        if group.external_id:
            current.groups_by_external_id[group.external_id] = group
    in_org = people.c.organisation_id == organisation_id
    _links(current.memberships, group_memberships.c.person_id, group_memberships.c.group_id, in_org)
    _links(current.duties, duties.c.person_id, duties.c.school_id, in_org)
    _links(current.children, guardianships.c.guardian_id, guardianships.c.student_id, in_org)
    return current


def _links(into, owner, other, in_org):
    query = db.select(owner, other).join(people, people.c.id == owner).where(in_org)
    for owner_id, other_id in db.session.execute(query):
        into.setdefault(owner_id, set()).add(other_id)


def email_holders(emails):
    """Email → id of the person (in any organisation) who has it, for `emails`."""
    emails, holders = list(emails), {}
    for start in range(0, len(emails), CHUNK):
        chunk = emails[start : start + CHUNK]
        query = db.select(people.c.email, people.c.id).where(people.c.email.in_(chunk))
        holders.update(db.session.execute(query).all())
    return holders
