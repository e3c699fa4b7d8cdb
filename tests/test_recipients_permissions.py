"""Who may send to whom: roles × targets inside and outside the sender's reach."""

from dataclasses import dataclass

import pytest
from flask_login import AnonymousUserMixin
from werkzeug.exceptions import NotFound

from portal.models import Channel, Role
from portal.recipients import (
    Reach,
    SelectionOutOfReach,
    check_reach,
    parse_selection,
    reachable,
    summarise,
)
from portal.recipients.selection import GroupRole, ScopeRole
from tests.directory_builders import Directory

TARGETS = (
    "own_group",
    "other_group_own_school",
    "group_other_school",
    "group_other_organisation",
    "school_staff",
    "school_principals",
    "other_school_staff",
    "school_other_organisation",
    "organisation_admins",
    "organisation_staff",
    "missing_group",
)
ALLOWED = {
    "staff": {"own_group", "school_staff"},
    "principal": {"own_group", "other_group_own_school", "school_staff", "school_principals"},
    "admin": set(TARGETS)
    - {"group_other_organisation", "school_other_organisation", "missing_group"},
    "student": set(),
    "guardian": set(),
    "operator": set(),
    "inactive_staff": set(),
}


@dataclass
class World:
    senders: dict
    selections: dict


@pytest.fixture
def world(make):
    d = Directory(make)
    own_school, other_school = d.school("Norrskolan"), d.school("Söderskolan")
    own_group, neighbour = d.group(own_school, "7A"), d.group(own_school, "7B")
    far_group = d.group(other_school, "4A")
    elsewhere = Directory(make)
    foreign_school = elsewhere.school("Främlingsskolan")
    foreign_group = elsewhere.group(foreign_school, "9C")
    child = d.student(own_group)
    senders = {
        "staff": d.staff(own_school, own_group),
        "principal": d.principal(own_school, own_group),
        "admin": d.admin(),
        "student": child,
        "guardian": d.guardian(child),
        "operator": make.person(Role.OPERATOR, password=None),
        "inactive_staff": d.staff(own_school, own_group, active=False),
    }
    pairs = {
        "own_group": (f"group-{own_group.id}", "guardians"),
        "other_group_own_school": (f"group-{neighbour.id}", "students"),
        "group_other_school": (f"group-{far_group.id}", "staff"),
        "group_other_organisation": (f"group-{foreign_group.id}", "guardians"),
        "school_staff": (f"school-{own_school.id}", "staff"),
        "school_principals": (f"school-{own_school.id}", "principals"),
        "other_school_staff": (f"school-{other_school.id}", "staff"),
        "school_other_organisation": (f"school-{foreign_school.id}", "staff"),
        "organisation_admins": ("org", "admins"),
        "organisation_staff": ("org", "staff"),
        "missing_group": (f"group-{foreign_group.id + 1000}", "students"),
    }
    return World(senders, {name: parse_selection([pair]) for name, pair in pairs.items()})


def offered(reach: Reach, selection) -> bool:
    """Whether the compose picker offers every item of `selection`."""
    groups = {(g.id, role) for s in reach.schools for g in s.groups for role in g.roles}
    schools = {(s.id, role) for s in reach.schools for role in s.roles}
    return (
        selection.groups <= groups
        and selection.schools <= schools
        and selection.organisation <= set(reach.organisation_roles)
    )


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("sender", list(ALLOWED))
def test_reach_matrix(world, sender, target):
    person, selection = world.senders[sender], world.selections[target]

    if target in ALLOWED[sender]:
        summary = summarise(selection, person, [Channel.EMAIL, Channel.SMS])
        assert summary.people >= 0
    else:
        with pytest.raises(SelectionOutOfReach):
            summarise(selection, person, [Channel.EMAIL, Channel.SMS])

    assert offered(reachable(person), selection) == (target in ALLOWED[sender])


@pytest.mark.parametrize("sender", list(ALLOWED))
def test_one_item_out_of_reach_refuses_the_whole_selection(world, sender):
    allowed = [world.selections[t] for t in ALLOWED[sender]]
    pairs = [pair for selection in allowed for pair in selection.form_pairs()]
    mixed = parse_selection([*pairs, *world.selections["group_other_organisation"].form_pairs()])
    with pytest.raises(SelectionOutOfReach):
        check_reach(mixed, world.senders[sender])
    if allowed:
        check_reach(parse_selection(pairs), world.senders[sender])


def test_out_of_reach_is_a_404():
    assert isinstance(SelectionOutOfReach(), NotFound)
    assert SelectionOutOfReach().code == 404


def test_the_picker_is_in_swedish_order(make):
    d = Directory(make)
    names = ("Östra skolan", "Ängby skola", "Åkerby skola", "Björkskolan")
    schools = [d.school(name) for name in names]
    for group_name in ("10A", "9B", "4A", "Ekorrar"):
        d.group(schools[0], group_name)

    reach = reachable(d.admin())

    assert [s.name for s in reach.schools] == [
        "Björkskolan",
        "Åkerby skola",
        "Ängby skola",
        "Östra skolan",
    ]
    assert [g.name for g in reach.schools[-1].groups] == ["4A", "9B", "10A", "Ekorrar"]
    assert reach.organisation_roles == (ScopeRole.STAFF, ScopeRole.PRINCIPALS, ScopeRole.ADMINS)
    assert reach.schools[0].groups == ()
    assert reach.schools[0].roles == (ScopeRole.STAFF, ScopeRole.PRINCIPALS)


def test_staff_see_their_groups_and_their_schools_staff(make):
    d = Directory(make)
    school, visiting = d.school("Norrskolan"), d.school("Söderskolan")
    mine, _theirs = d.group(school, "7A"), d.group(school, "7B")
    guest = d.group(visiting, "5C")
    teacher = d.staff(school, mine, guest)

    reach = reachable(teacher)

    assert [(s.name, [g.name for g in s.groups], s.roles) for s in reach.schools] == [
        ("Norrskolan", ["7A"], (ScopeRole.STAFF,)),
        ("Söderskolan", ["5C"], ()),
    ]
    assert reach.schools[0].groups[0].roles == tuple(GroupRole)
    assert not reachable(d.student(mine))


def test_an_anonymous_visitor_reaches_nothing():
    visitor = AnonymousUserMixin()
    assert not reachable(visitor)
    with pytest.raises(SelectionOutOfReach):
        check_reach(parse_selection([("org", "admins")]), visitor)
