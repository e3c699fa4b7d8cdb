"""The selection's wire format: parsing, refusing malformed input, JSON round trip."""

import pytest
from werkzeug.datastructures import MultiDict

from portal.recipients import GroupRole, InvalidSelection, ScopeRole, Selection, parse_selection


def test_parses_groups_schools_and_organisation_roles_ignoring_other_fields():
    form = MultiDict(
        [
            ("subject", "Föräldramöte"),
            ("csrf_token", "abc"),
            ("group-12", "students"),
            ("group-12", "guardians"),
            ("group-7", "staff"),
            ("school-3", "staff"),
            ("school-3", "principals"),
            ("org", "admins"),
        ]
    )
    selection = parse_selection(form)
    assert selection.groups == {
        (12, GroupRole.STUDENTS),
        (12, GroupRole.GUARDIANS),
        (7, GroupRole.STAFF),
    }
    assert selection.schools == {(3, ScopeRole.STAFF), (3, ScopeRole.PRINCIPALS)}
    assert selection.organisation == {ScopeRole.ADMINS}
    assert selection.group_ids(GroupRole.GUARDIANS) == {12}


def test_accepts_a_mapping_or_pairs_and_repeats_collapse():
    assert parse_selection({"group-1": ["students", "students"]}) == parse_selection(
        [("group-1", "students")]
    )


def test_nothing_picked_is_an_empty_selection():
    selection = parse_selection(MultiDict([("subject", "Hej")]))
    assert not selection
    assert selection == Selection()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("group-12", "teachers"),
        ("group-12", "admins"),  # not a role within a group
        ("group-12", ""),
        ("group-", "students"),
        ("group-abc", "students"),
        ("group-012", "students"),
        ("group-0", "students"),
        ("group--3", "students"),
        ("group-1.5", "students"),
        ("group-12 ", "students"),
        ("group-99999999999", "students"),
        ("group-2147483648", "students"),
        ("group-١٢", "students"),  # Arabic-Indic digits
        ("school-3", "students"),
        ("school-3", "admins"),
        ("school-x", "staff"),
        ("org", "students"),
        ("org", "STAFF"),
        ("org-4", "admins"),
    ],
)
def test_malformed_input_is_refused_in_swedish(key, value):
    with pytest.raises(InvalidSelection) as refused:
        parse_selection(MultiDict([("group-1", "students"), (key, value)]))
    assert str(refused.value) == "Mottagarvalet kunde inte läsas. Ladda om sidan och välj igen."


def test_non_text_values_are_refused():
    with pytest.raises(InvalidSelection):
        parse_selection({"group-1": [None]})


def test_too_many_items_are_refused():
    with pytest.raises(InvalidSelection):
        parse_selection([(f"group-{n}", "students") for n in range(1, 5_002)])


def test_json_round_trip_is_stable():
    selection = parse_selection(
        [
            ("group-12", "guardians"),
            ("group-3", "students"),
            ("school-2", "staff"),
            ("org", "admins"),
        ]
    )
    text = selection.to_json()
    assert text == (
        '{"groups":[[3,"students"],[12,"guardians"]],"schools":[[2,"staff"]],'
        '"organisation":["admins"]}'
    )
    assert Selection.from_json(text) == selection
    assert parse_selection(selection.form_pairs()) == selection


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        "{}",
        '{"groups": [[1]], "schools": [], "organisation": []}',
        '{"groups": [[]], "schools": [], "organisation": []}',
        '{"groups": [["1", "students"]], "schools": [], "organisation": []}',
        '{"groups": [[true, "students"]], "schools": [], "organisation": []}',
        '{"groups": [], "schools": [[1, "guardians"]], "organisation": []}',
        '{"groups": [], "schools": [], "organisation": [7]}',
    ],
)
def test_a_damaged_stored_selection_is_refused(text):
    with pytest.raises(InvalidSelection):
        Selection.from_json(text)
