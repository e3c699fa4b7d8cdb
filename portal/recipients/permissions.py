"""Who may send to whom (issue #5, point 4), checked in the resolver.

- staff: the groups they are members of, and the staff of the schools they have a duty at;
- principals: every group of the schools they have a duty at (and groups they are members
  of), and the staff and principals of those schools;
- admins: every group and school of the organisation, and the organisation-wide roles;
- students, guardians, operators and inactive people: nothing.

A selection with anything outside the sender's reach — another organisation's group,
a school they have no duty at, an id that does not exist — raises `SelectionOutOfReach`,
a 404: a guessed id is indistinguishable from one that does not exist, and a tampered
selection is refused whole, never narrowed.
"""

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from werkzeug.exceptions import NotFound

from portal.extensions import db
from portal.models import Group, Role, School, duties, group_memberships
from portal.recipients.selection import (
    ORGANISATION_ROLES,
    SCHOOL_ROLES,
    GroupRole,
    ScopeRole,
    Selection,
)

GROUP_ROLES = tuple(GroupRole)
_SCHOOL_ROLES_BY_SENDER = {
    Role.ADMIN: SCHOOL_ROLES,
    Role.PRINCIPAL: SCHOOL_ROLES,
    Role.STAFF: (ScopeRole.STAFF,),
}


class SelectionOutOfReach(NotFound):
    """The selection names something the sender may not send to (shown as a 404)."""


@dataclass(frozen=True)
class PickableGroup:
    id: int
    name: str
    roles: tuple[GroupRole, ...] = GROUP_ROLES


@dataclass(frozen=True)
class PickableSchool:
    id: int
    name: str
    groups: tuple[PickableGroup, ...]
    roles: tuple[ScopeRole, ...]  # school-wide roles the sender may pick


@dataclass(frozen=True)
class Reach:
    """What the compose page's picker offers, schools and groups in Swedish name order."""

    schools: tuple[PickableSchool, ...] = ()
    organisation_roles: tuple[ScopeRole, ...] = ()

    def __bool__(self):
        return bool(self.schools or self.organisation_roles)


def may_send(sender) -> bool:
    """Whether `sender` (a Person, or Flask-Login's anonymous user) may send at all."""
    return (
        getattr(sender, "role", None) in _SCHOOL_ROLES_BY_SENDER
        and sender.active
        and sender.organisation_id is not None
    )


def reachable(sender) -> Reach:
    """The schools, groups and scopes `sender` may pick."""
    if not may_send(sender):
        return Reach()
    organisation_id = sender.organisation_id
    duty_schools = _duty_school_ids(sender)
    groups = select(Group.id, Group.name, Group.school_id).where(
        Group.organisation_id == organisation_id
    )
    schools = select(School.id, School.name).where(School.organisation_id == organisation_id)
    if sender.role != Role.ADMIN:
        own = select(group_memberships.c.group_id).where(group_memberships.c.person_id == sender.id)
        in_reach = Group.id.in_(own)
        if sender.role == Role.PRINCIPAL:
            in_reach = in_reach | Group.school_id.in_(duty_schools)
        groups = groups.where(in_reach)
    group_rows = db.session.execute(groups).all()
    if sender.role != Role.ADMIN:
        wanted = duty_schools | {row.school_id for row in group_rows}
        schools = schools.where(School.id.in_(wanted))
    school_roles = _SCHOOL_ROLES_BY_SENDER[sender.role]
    picked = []
    for school in sorted(db.session.execute(schools), key=lambda row: sort_key(row.name)):
        own_groups = sorted(
            (PickableGroup(row.id, row.name) for row in group_rows if row.school_id == school.id),
            key=lambda group: sort_key(group.name),
        )
        roles = school_roles if sender.role == Role.ADMIN or school.id in duty_schools else ()
        picked.append(PickableSchool(school.id, school.name, tuple(own_groups), roles))
    organisation_roles = ORGANISATION_ROLES if sender.role == Role.ADMIN else ()
    return Reach(tuple(picked), organisation_roles)


def check_reach(selection: Selection, sender) -> None:
    """Raise SelectionOutOfReach unless `sender` may send to everything in `selection`."""
    if not may_send(sender):
        raise SelectionOutOfReach()
    organisation_id = sender.organisation_id
    group_ids = selection.group_ids()
    school_ids = selection.school_ids()
    school_of_group = dict(
        db.session.execute(
            select(Group.id, Group.school_id).where(
                Group.id.in_(group_ids), Group.organisation_id == organisation_id
            )
        ).all()
        if group_ids
        else ()
    )
    known_schools = (
        set(
            db.session.scalars(
                select(School.id).where(
                    School.id.in_(school_ids), School.organisation_id == organisation_id
                )
            )
        )
        if school_ids
        else set()
    )
    if school_of_group.keys() != group_ids or known_schools != school_ids:
        raise SelectionOutOfReach()
    if sender.role == Role.ADMIN:
        return
    if selection.organisation:
        raise SelectionOutOfReach()
    duty_schools = _duty_school_ids(sender)
    allowed_roles = _SCHOOL_ROLES_BY_SENDER[sender.role]
    if any(sid not in duty_schools or role not in allowed_roles for sid, role in selection.schools):
        raise SelectionOutOfReach()
    outside = {
        gid
        for gid, school_id in school_of_group.items()
        if not (sender.role == Role.PRINCIPAL and school_id in duty_schools)
    }
    if outside and not outside <= _member_group_ids(sender, outside):
        raise SelectionOutOfReach()


def sort_key(name: str):
    """Swedish alphabetical order with numbers in number order: 4A, 5B, 10A; Å Ä Ö after Z."""
    folded = name.casefold().translate(_SWEDISH_LAST)
    folded = "".join(
        c for c in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(c)
    )
    return [int(part) if part.isdigit() else part for part in _DIGITS.split(folded)]


_SWEDISH_LAST = str.maketrans({"å": "{", "ä": "|", "æ": "|", "ö": "}", "ø": "}"})
_DIGITS = re.compile(r"(\d+)")


def _duty_school_ids(sender) -> set[int]:
    return set(
        db.session.scalars(select(duties.c.school_id).where(duties.c.person_id == sender.id))
    )


def _member_group_ids(sender, among: set[int]) -> set[int]:
    return set(
        db.session.scalars(
            select(group_memberships.c.group_id).where(
                group_memberships.c.person_id == sender.id,
                group_memberships.c.group_id.in_(among),
            )
        )
    )
