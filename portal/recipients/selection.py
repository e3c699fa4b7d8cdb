"""What a sender picked: groups with roles within them, and school- or organisation-wide roles.

Wire format (the compose form's checkboxes; a key may repeat):

    group-<id>=students    the students who are members of the group
    group-<id>=guardians   the guardians of the group's (active) students
    group-<id>=staff       staff and principals who are members of the group
    school-<id>=staff      every staff member with a duty at the school
    school-<id>=principals every principal with a duty at the school
    org=staff | org=principals | org=admins   everyone with that role in the organisation

Ids are positive decimal numbers without leading zeros. Other form fields
(heading, body, csrf_token …) are ignored; a key that starts with `group-`,
`school-` or `org` but does not follow the format refuses the whole selection
(`InvalidSelection`), it is never repaired. Whether the sender may pick what
they picked is not checked here but in `permissions.check_reach`.

Stored on a message as JSON: `{"groups": [[12, "students"]], "schools": [[3, "staff"]],
"organisation": ["admins"]}`, sorted, so the same selection always gives the same text.
"""

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from flask_babel import lazy_gettext as _l

MAX_ITEMS = 5_000
MAX_ID = 2**31 - 1  # an INTEGER column on PostgreSQL
_GROUP_KEY = re.compile(r"group-([1-9][0-9]{0,9})")
_SCHOOL_KEY = re.compile(r"school-([1-9][0-9]{0,9})")
ORGANISATION_KEY = "org"


class GroupRole(StrEnum):
    STUDENTS = "students"
    GUARDIANS = "guardians"
    STAFF = "staff"


class ScopeRole(StrEnum):
    STAFF = "staff"
    PRINCIPALS = "principals"
    ADMINS = "admins"


SCHOOL_ROLES = (ScopeRole.STAFF, ScopeRole.PRINCIPALS)
ORGANISATION_ROLES = (ScopeRole.STAFF, ScopeRole.PRINCIPALS, ScopeRole.ADMINS)

GROUP_ROLE_LABELS = {
    GroupRole.STUDENTS: _l("Elever"),
    GroupRole.GUARDIANS: _l("Vårdnadshavare"),
    GroupRole.STAFF: _l("Personal"),
}
SCOPE_ROLE_LABELS = {
    ScopeRole.STAFF: _l("All personal"),
    ScopeRole.PRINCIPALS: _l("Rektorer"),
    ScopeRole.ADMINS: _l("Administratörer"),
}


class InvalidSelection(ValueError):
    """The posted selection does not follow the wire format; str() is the Swedish message."""

    def __init__(self, detail):
        super().__init__(str(_l("Mottagarvalet kunde inte läsas. Ladda om sidan och välj igen.")))
        self.detail = detail


@dataclass(frozen=True)
class Selection:
    groups: frozenset[tuple[int, GroupRole]] = field(default_factory=frozenset)
    schools: frozenset[tuple[int, ScopeRole]] = field(default_factory=frozenset)
    organisation: frozenset[ScopeRole] = field(default_factory=frozenset)

    def __bool__(self):
        return bool(self.groups or self.schools or self.organisation)

    def group_ids(self, role: GroupRole | None = None) -> set[int]:
        return {gid for gid, r in self.groups if role is None or r == role}

    def school_ids(self, role: ScopeRole | None = None) -> set[int]:
        return {sid for sid, r in self.schools if role is None or r == role}

    def form_pairs(self) -> list[tuple[str, str]]:
        """The selection as (name, value) form fields, e.g. for hidden inputs."""
        return [
            *((f"group-{gid}", str(role)) for gid, role in sorted(self.groups)),
            *((f"school-{sid}", str(role)) for sid, role in sorted(self.schools)),
            *((ORGANISATION_KEY, str(role)) for role in sorted(self.organisation)),
        ]

    def to_json(self) -> str:
        return json.dumps(
            {
                "groups": [[gid, str(role)] for gid, role in sorted(self.groups)],
                "schools": [[sid, str(role)] for sid, role in sorted(self.schools)],
                "organisation": sorted(str(role) for role in self.organisation),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> "Selection":
        """The selection `to_json` wrote; anything else raises InvalidSelection."""
        try:
            data = json.loads(text)
            ids = [item[0] for item in (*data["groups"], *data["schools"])]
            if not all(type(number) is int for number in ids):
                raise TypeError("ids must be numbers")
            pairs = [
                *((f"group-{gid}", role) for gid, role in data["groups"]),
                *((f"school-{sid}", role) for sid, role in data["schools"]),
                *((ORGANISATION_KEY, role) for role in data["organisation"]),
            ]
        except (TypeError, ValueError, KeyError, IndexError) as error:
            raise InvalidSelection(f"not a stored selection: {error}") from None
        return parse_selection(pairs)


def parse_selection(formdata) -> Selection:
    """The selection in posted form data (a MultiDict, a mapping or (name, value) pairs)."""
    groups, schools, organisation = set(), set(), set()
    count = 0
    for key, value in _pairs(formdata):
        if not isinstance(key, str) or not _is_selection_key(key):
            continue
        count += 1
        if count > MAX_ITEMS:
            raise InvalidSelection(f"more than {MAX_ITEMS} items")
        if not isinstance(value, str):
            raise InvalidSelection(f"{key}: value is not text")
        if match := _GROUP_KEY.fullmatch(key):
            groups.add((_id(match, key), _role(GroupRole, tuple(GroupRole), key, value)))
        elif match := _SCHOOL_KEY.fullmatch(key):
            schools.add((_id(match, key), _role(ScopeRole, SCHOOL_ROLES, key, value)))
        elif key == ORGANISATION_KEY:
            organisation.add(_role(ScopeRole, ORGANISATION_ROLES, key, value))
        else:
            raise InvalidSelection(f"malformed key {key[:40]!r}")
    return Selection(frozenset(groups), frozenset(schools), frozenset(organisation))


def _is_selection_key(key):
    return key == ORGANISATION_KEY or key.startswith(("group-", "school-", "org-"))


def _pairs(formdata) -> Iterable[tuple[object, object]]:
    if hasattr(formdata, "getlist"):  # werkzeug MultiDict
        return formdata.items(multi=True)
    if isinstance(formdata, Mapping):
        return (
            (key, item)
            for key, value in formdata.items()
            for item in (value if isinstance(value, list | tuple) else [value])
        )
    return formdata


def _id(match, key):
    number = int(match.group(1))
    if number > MAX_ID:
        raise InvalidSelection(f"{key[:40]!r}: id out of range")
    return number


def _role(enum, allowed, key, value):
    try:
        role = enum(value)
    except ValueError:
        raise InvalidSelection(f"{key[:40]!r}: unknown role {value[:40]!r}") from None
    if role not in allowed:
        raise InvalidSelection(f"{key[:40]!r}: role {value!r} not allowed here")
    return role
