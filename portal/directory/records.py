"""What a directory file says, in one shape for both formats (CSV and SS 12000 JSON)."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from portal.models import Role


class Issue(NamedTuple):
    """A problem with one row (CSV line as Excel numbers it, or the n:th SS 12000 person);
    `line` is None for problems that belong to the file or to a school or group."""

    line: int | None
    message: str


@dataclass
class SchoolRecord:
    key: str
    name: str
    external_id: str | None = None


@dataclass
class GroupRecord:
    key: str
    school_key: str
    name: str
    external_id: str | None = None


@dataclass
class PersonRecord:
    """One person as the file describes them, already cleaned and normalised."""

    line: int
    external_id: str
    role: Role
    given_name: str
    family_name: str
    email: str | None = None
    mobile: str | None = None
    mobile_rejected: str | None = None
    terms_accepted_at: datetime | None = None
    protected_identity: bool = False
    schools: list[str] = field(default_factory=list)  # school keys of staff duties
    groups: list[str] = field(default_factory=list)  # group keys
    guardian_of: list[str] = field(default_factory=list)  # students' external ids


@dataclass
class Directory:
    """A parsed file: its people, the schools and groups they refer to, and its problems.

    `seen_ids` holds every external id in the file, also those on rows with errors,
    so that a typo on a row never deactivates the person it describes.
    """

    kind: str  # "csv" or "ss12000"
    people: list[PersonRecord] = field(default_factory=list)
    schools: dict[str, SchoolRecord] = field(default_factory=dict)
    groups: dict[str, GroupRecord] = field(default_factory=dict)
    listed_schools: set[str] = field(default_factory=set)  # imported even without people
    listed_groups: set[str] = field(default_factory=set)
    seen_ids: set[str] = field(default_factory=set)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    file_error: str | None = None

    def school(self, name, external_id=None):
        """The key of the school named `name` (SS 12000: with `external_id`), registered once."""
        key = f"id:{external_id}" if external_id else f"name:{name.casefold()}"
        self.schools.setdefault(key, SchoolRecord(key, name, external_id))
        return key

    def group(self, school_key, name, external_id=None):
        key = f"id:{external_id}" if external_id else f"{school_key}|{name.casefold()}"
        self.groups.setdefault(key, GroupRecord(key, school_key, name, external_id))
        return key
