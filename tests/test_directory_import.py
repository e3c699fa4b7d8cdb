"""Directory import (issue #5 point 1): CSV and SS 12000 JSON, row errors in Swedish,
idempotent upserts, deactivation, dry runs, the admin page and the CLI."""

import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.directory.commands import directory as directory_cli
from portal.directory.csv_format import COLUMNS
from portal.directory.importing import import_directory
from portal.directory.values import mobile
from portal.directory.views import MAX_UPLOAD_BYTES
from portal.extensions import db
from portal.models import AuditEvent, Group, Person, Role, School
from portal.models.base import utcnow
from portal.sms.phone import InvalidPhone, normalise_mobile
from tests.conftest import csrf_token

DATA = Path(__file__).parent / "data" / "directory"


def csv_file(*rows, delimiter=";", header=COLUMNS, bom=False):
    """A CSV file with `header` and `rows` (dicts; missing columns are empty)."""
    lines = [delimiter.join(header)]
    lines += [delimiter.join(row.get(name, "") for name in header) for row in rows]
    text = "\r\n".join(lines) + "\r\n"
    return ("\ufeff" if bom else "").encode() + text.encode()


def student(external_id="e1", **fields):
    return {
        "external_id": external_id,
        "role": "elev",
        "given_name": "Elsa",
        "family_name": "Lind",
        "school": "Norrskolan",
        "groups": "7A",
        **fields,
    }


def guardian(external_id="v1", children="e1", **fields):
    return {
        "external_id": external_id,
        "role": "vardnadshavare",
        "given_name": "Karin",
        "family_name": "Lind",
        "guardian_of": children,
        **fields,
    }


def teacher(external_id="p1", **fields):
    return {
        "external_id": external_id,
        "role": "personal",
        "given_name": "Lena",
        "family_name": "Holm",
        "school": "Norrskolan",
        "groups": "7A|7B",
        **fields,
    }


def people_of(org):
    db.session.rollback()
    query = db.select(Person).where(Person.organisation_id == org.id)
    return {person.external_id: person for person in db.session.scalars(query)}


def run(content, org, **options):
    options.setdefault("dry_run", False)
    return import_directory(content, org, **options)


def messages(issues):
    return [(line, message) for line, message in issues]


# --- CSV ---------------------------------------------------------------------------------


def test_csv_import_creates_people_schools_groups_and_links(make):
    org = make.org()
    content = csv_file(
        student(mobile="070-123 45 67", email="Elsa@Example.se"),
        student("e2", given_name="Nils", groups="7B", terms_accepted_at="2025-08-14"),
        guardian(children="e1|e2", mobile="0701234568", protected_identity="ja"),
        teacher(),
        {**teacher("r1", role="rektor", groups=""), "given_name": "Anders"},
        bom=True,
    )

    report = run(content, org)

    assert (report.errors, report.warnings, report.file_error) == ([], [], None)
    assert (report.people.created, report.schools.created, report.groups.created) == (5, 1, 2)
    people = people_of(org)
    elsa, nils, karin, lena, anders = (people[i] for i in ("e1", "e2", "v1", "p1", "r1"))
    assert (elsa.role, elsa.email, elsa.mobile) == (Role.STUDENT, "elsa@example.se", "+46701234567")
    assert [g.name for g in elsa.groups] == ["7A"]
    assert nils.terms_accepted_at == datetime(2025, 8, 13, 22, 0, tzinfo=UTC)  # Stockholm midnight
    assert karin.role == Role.GUARDIAN and karin.protected_identity
    assert sorted(child.external_id for child in karin.children) == ["e1", "e2"]
    assert sorted(g.name for g in lena.groups) == ["7A", "7B"]
    assert [s.name for s in lena.schools] == ["Norrskolan"]
    assert anders.role == Role.PRINCIPAL and [s.name for s in anders.schools] == ["Norrskolan"]
    assert all(person.active for person in people.values())


def test_comma_delimiter_and_any_column_order(make):
    org = make.org()
    content = csv_file(student(), delimiter=",", header=tuple(reversed(COLUMNS)))

    report = run(content, org)

    assert report.errors == [] and report.people.created == 1


def test_excel_damaged_numbers_are_repaired(make):
    org = make.org()
    damaged = ["701234567", "46701234567", "+46 (0)70-123 45 67", '="0701234567"', "701234567.0"]
    rows = [student(f"e{n}", mobile=number) for n, number in enumerate(damaged)]

    report = run(csv_file(*rows), org)

    assert report.warnings == []
    assert {person.mobile for person in people_of(org).values()} == {"+46701234567"}


def test_a_number_that_is_not_a_mobile_is_kept_out_of_sms_and_reported(make):
    org = make.org()
    rows = [student(), student("e2", mobile="08-123 45 67"), student("e3", mobile="08-123 45 68")]
    rows[2]["protected_identity"] = "ja"

    report = run(csv_file(*rows), org)

    assert report.errors == []
    assert messages(report.warnings) == [
        (3, "08-123 45 67 är inte ett mobilnummer; personen får inga SMS."),
        (4, "Numret (skyddad identitet) är inte ett mobilnummer; personen får inga SMS."),
    ]
    person = people_of(org)["e2"]
    assert (person.mobile, person.mobile_rejected) == (None, "08-123 45 67")


@given(
    prefix=st.sampled_from(["", "0", "46", "+46", "0046", "+46 (0)"]),
    digits=st.from_regex(r"7\d{8}", fullmatch=True),
    separator=st.sampled_from(["", " ", "-"]),
)
def test_the_fast_mobile_path_agrees_with_normalise_mobile(prefix, digits, separator):
    raw = prefix + digits[:2] + separator + digits[2:5] + separator + digits[5:]
    try:
        expected = (normalise_mobile(raw), None)
    except InvalidPhone:
        expected = (None, raw)

    assert mobile(raw) == expected


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (student(role="lärare"), "Okänd roll 'lärare'."),
        (student(role=""), "Roll (role) saknas."),
        (student(given_name=""), "Förnamn (given_name) saknas."),
        (student(family_name=" "), "Efternamn (family_name) saknas."),
        (student(external_id=""), "external_id saknas."),
        (student(email="inte-en-adress"), "E-postadressen 'inte-en-adress' är inte giltig."),
        (student(terms_accepted_at="14/8 2025"), "terms_accepted_at: '14/8 2025' är inte"),
        (student(terms_accepted_at="2999-01-01"), "terms_accepted_at ligger i framtiden."),
        (student(protected_identity="kanske"), "protected_identity: 'kanske' ska vara ja"),
        (student(school=""), "Ange skolan (school) som grupperna hör till."),
        (teacher(guardian_of="e1"), "guardian_of anges bara för vårdnadshavare."),
        (guardian(children="e9"), "guardian_of: eleven 'e9' finns inte i filen."),
        (guardian(children="p1"), "guardian_of: 'p1' är inte en elev."),
    ],
)
def test_row_errors_name_the_line_and_skip_only_that_row(make, row, message):
    org = make.org()
    row = {**row, "external_id": "x9" if row["external_id"] else ""}
    content = csv_file(student("e1"), teacher("p1"), row)

    report = run(content, org)

    assert len(report.errors) == 1, report.errors
    line, text = report.errors[0]
    assert line == 4 and text.startswith(message), text
    assert report.people.created == 2
    assert set(people_of(org)) == {"e1", "p1"}


def test_protected_identity_values_are_never_repeated_in_errors(make):
    org = make.org()
    row = student("e2", email="hemlig@@adress", protected_identity="ja")

    report = run(csv_file(student(), row), org)

    assert messages(report.errors) == [(3, "E-postadressen (skyddad identitet) är inte giltig.")]


def test_duplicate_external_id_and_email_in_the_file(make):
    org = make.org()
    content = csv_file(
        student("e1", email="elsa@example.se"),
        student("e1", given_name="Annan"),
        student("e2", email="ELSA@example.se"),
    )

    report = run(content, org)

    assert messages(report.errors) == [
        (3, "external_id 'e1' finns redan på rad 2."),
        (4, "E-postadressen 'elsa@example.se' finns redan på rad 2."),
    ]
    assert people_of(org)["e1"].given_name == "Elsa"


def test_email_used_in_another_organisation_is_a_row_error(make):
    org, other = make.org(), make.org()
    make.person(Role.GUARDIAN, other, email="upptagen@example.se")

    report = run(csv_file(student(), student("e2", email="upptagen@example.se")), org)

    assert messages(report.errors) == [
        (3, "E-postadressen 'upptagen@example.se' används redan av en annan person.")
    ]
    assert set(people_of(org)) == {"e1"}


def test_people_may_swap_email_addresses(make):
    org = make.org()
    run(csv_file(student("e1", email="a@example.se"), student("e2", email="b@example.se")), org)

    report = run(
        csv_file(student("e1", email="b@example.se"), student("e2", email="a@example.se")), org
    )

    assert report.errors == [] and report.people.updated == 2
    people = people_of(org)
    assert (people["e1"].email, people["e2"].email) == ("b@example.se", "a@example.se")


def test_an_account_made_before_the_import_is_taken_over_by_email(make):
    org = make.org()
    admin = make.person(Role.ADMIN, org, email="admin@example.se")

    report = run(
        csv_file({**teacher("adm"), "role": "administrator", "email": "admin@example.se"}), org
    )

    assert report.errors == [] and (report.people.created, report.people.updated) == (0, 1)
    assert people_of(org)["adm"].id == admin.id


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("external_id;role\n".encode("utf-16"), "UTF-16"),
        (csv_file(student(given_name="Åsa")).decode().encode("cp1252"), "inte UTF-8"),
        (csv_file(student(), delimiter="\t"), "tabbar"),
        (b"bara en kolumn\nx\n", "Hittar inga kolumner"),
        (b"", "Filen är tom."),
        (
            csv_file(student(), header=(*COLUMNS[:-1], "skyddad")),
            "Kolumner saknas: protected_identity. Okända kolumner: skyddad.",
        ),
    ],
)
def test_file_errors_import_nothing(make, content, message):
    org = make.org()

    report = run(content, org)

    assert report.file_error and message in report.file_error, report.file_error
    assert people_of(org) == {}


def test_rows_with_the_wrong_delimiter_are_row_errors(make):
    org = make.org()
    content = csv_file(student()) + b"e2,elev,Nils,Lind,,,Norrskolan,7A,,,\r\n"

    report = run(content, org)

    assert messages(report.errors) == [
        (3, "Raden har 1 kolumner men rubrikraden har 11. Kontrollera avgränsare och citattecken.")
    ]


def test_excel_trailing_empty_columns_and_blank_lines_are_ignored(make):
    org = make.org()
    content = csv_file(student()).replace(b"\r\n", b";;\r\n") + b";;;;;;;;;;\r\n"

    report = run(content, org)

    assert report.errors == [] and report.people.created == 1


# --- upsert, deactivation, dry run -------------------------------------------------------


def test_reimport_is_idempotent(make):
    org = make.org()
    content = csv_file(student(mobile="0701234567"), guardian(), teacher())
    run(content, org)

    report = run(content, org)

    assert report.errors == []
    assert (report.people.created, report.people.updated, report.people.unchanged) == (0, 0, 3)
    assert (report.schools.created, report.groups.created, report.groups.updated) == (0, 0, 0)


def test_changes_are_applied_and_links_replaced(make):
    org = make.org()
    run(csv_file(student(), student("e2"), guardian(children="e1|e2"), teacher()), org)

    report = run(
        csv_file(
            student(family_name="Berg", groups="8A"),
            student("e2"),
            guardian(children="e2"),
            teacher(groups="8A", school="Söderskolan"),
        ),
        org,
    )

    assert (report.people.updated, report.people.unchanged) == (3, 1)
    assert (report.schools.created, report.groups.created) == (1, 2)  # 8A at both schools
    people = people_of(org)
    assert people["e1"].family_name == "Berg"
    assert [g.name for g in people["e1"].groups] == ["8A"]
    assert [c.external_id for c in people["v1"].children] == ["e2"]
    assert [(g.school.name, g.name) for g in people["p1"].groups] == [("Söderskolan", "8A")]
    assert [s.name for s in people["p1"].schools] == ["Söderskolan"]


def test_empty_values_keep_what_the_portal_has(make):
    org = make.org()
    accepted = datetime(2025, 1, 2, 3, 4, tzinfo=UTC)
    run(csv_file(student(email="elsa@example.se", mobile="0701234567")), org)
    person = people_of(org)["e1"]
    person.terms_accepted_at = accepted
    db.session.commit()

    report = run(csv_file(student(terms_accepted_at="2025-08-01")), org)

    assert report.people.unchanged == 1
    person = people_of(org)["e1"]
    assert (person.email, person.mobile, person.terms_accepted_at) == (
        "elsa@example.se",
        "+46701234567",
        accepted,
    )


def test_people_missing_from_a_full_import_are_deactivated_not_deleted(make):
    org = make.org()
    manual = make.person(Role.STAFF, org)  # no external_id: not from an import
    run(csv_file(student(), student("e2"), guardian()), org)

    report = run(csv_file(student(), guardian()), org)

    assert report.people.deactivated == 1
    people = people_of(org)
    assert not people["e2"].active and people["e1"].active
    assert people[None].id == manual.id and people[None].active

    again = run(csv_file(student(), student("e2"), guardian()), org)
    assert (again.people.updated, again.people.deactivated) == (1, 0)
    assert people_of(org)["e2"].active


def test_partial_import_deactivates_nobody_and_may_refer_to_known_students(make):
    org = make.org()
    run(csv_file(student(), student("e2")), org)

    report = run(csv_file(guardian(children="e2")), org, full=False)

    assert report.errors == [] and report.people.deactivated == 0
    people = people_of(org)
    assert people["e1"].active and [c.external_id for c in people["v1"].children] == ["e2"]


def test_a_row_with_errors_never_deactivates_its_person(make):
    org = make.org()
    run(csv_file(student(), student("e2")), org)

    report = run(csv_file(student(), student("e2", role="okänd")), org)

    assert report.people.deactivated == 0 and people_of(org)["e2"].active


def test_guardian_of_a_student_whose_row_has_errors_is_refused(make):
    org = make.org()

    report = run(csv_file(student(role="x"), guardian()), org)

    assert messages(report.errors)[1] == (
        3,
        "guardian_of: eleven 'e1' har fel i filen och importeras inte.",
    )


def test_dry_run_changes_nothing(make):
    org = make.org()
    run(csv_file(student(), student("e2")), org)
    before = {key: (p.family_name, p.active) for key, p in people_of(org).items()}
    audited = db.session.scalar(db.select(db.func.count(AuditEvent.id)))

    report = run(csv_file(student(family_name="Ny"), teacher(school="Nyskolan")), org, dry_run=True)

    assert report.dry_run
    assert (report.people.created, report.people.updated, report.people.deactivated) == (1, 1, 1)
    assert (report.schools.created, report.groups.created) == (1, 2)
    assert {key: (p.family_name, p.active) for key, p in people_of(org).items()} == before
    assert db.session.scalar(db.select(db.func.count()).select_from(School)) == 1
    assert db.session.scalar(db.select(db.func.count(AuditEvent.id))) == audited


def test_other_organisations_are_untouched(make):
    org, other = make.org(), make.org()
    run(csv_file(student(), teacher()), other)

    run(csv_file(student(given_name="Annan")), org)

    assert people_of(other)["e1"].given_name == "Elsa" and people_of(other)["p1"].active
    assert len(people_of(org)) == 1


def test_a_real_run_is_audited(make):
    org = make.org()
    actor = make.person(Role.ADMIN, org)

    run(csv_file(student()), org, actor=actor)

    event = db.session.scalars(db.select(AuditEvent)).one()
    assert (event.action, event.actor_id, event.organisation_id) == (
        "directory.imported",
        actor.id,
        org.id,
    )
    assert event.details["people"]["created"] == 1


def test_the_importing_admin_is_never_deactivated(make):
    org = make.org()
    run(csv_file({**teacher("adm"), "role": "administrator", "email": "adm@example.se"}), org)
    admin = people_of(org)["adm"]

    report = run(csv_file(student()), org, actor=admin)

    assert report.people.deactivated == 0 and people_of(org)["adm"].active


# --- SS 12000 ----------------------------------------------------------------------------


def test_ss12000_import(make):
    org = make.org()

    report = run((DATA / "ss12000.json").read_bytes(), org)

    assert report.kind == "ss12000"
    assert messages(report.errors) == [
        (
            6,
            "Personen har ingen tjänst (duty), inga elever (responsibleFor) och ingen grupp; "
            "rollen går inte att avgöra.",
        )
    ]
    assert messages(report.warnings) == [
        (4, "Numret (skyddad identitet) är inte ett mobilnummer; personen får inga SMS.")
    ]
    assert (report.people.created, report.schools.created, report.groups.created) == (5, 1, 2)
    people = people_of(org)
    principal = people["c1d2e3f4-0000-4000-8000-000000000001"]
    teacher_ = people["c1d2e3f4-0000-4000-8000-000000000002"]
    pupil = people["c1d2e3f4-0000-4000-8000-000000000003"]
    hidden = people["c1d2e3f4-0000-4000-8000-000000000004"]
    parent = people["c1d2e3f4-0000-4000-8000-000000000005"]
    assert principal.role == Role.PRINCIPAL and [s.name for s in principal.schools] == [
        "Norrskolan"
    ]
    assert teacher_.role == Role.STAFF and [g.name for g in teacher_.groups] == ["7A"]
    assert (pupil.role, pupil.email, pupil.mobile) == (
        Role.STUDENT,
        "elsa.lind@example.com",
        "+46701740605",
    )
    assert sorted(g.name for g in pupil.groups) == ["7A", "Ma7"]  # the ended membership is left
    assert hidden.protected_identity and hidden.mobile_rejected == "08-46500400"
    assert parent.role == Role.GUARDIAN
    assert sorted(c.external_id for c in parent.children) == [pupil.external_id, hidden.external_id]
    school = db.session.scalars(db.select(School)).one()
    assert school.external_id == "a0000000-0000-4000-8000-00000000000a"

    again = run((DATA / "ss12000.json").read_bytes(), org)
    assert (again.people.created, again.people.updated, again.groups.updated) == (0, 0, 0)


def test_ss12000_renamed_groups_follow_their_id(make):
    org = make.org()
    document = json.loads((DATA / "ss12000.json").read_text())
    run(json.dumps(document).encode(), org)
    document["groups"][0]["displayName"] = "7A-ny"

    report = run(json.dumps({**document, "groups": {"data": document["groups"]}}).encode(), org)

    assert (report.groups.updated, report.groups.created) == (1, 0)
    names = set(db.session.scalars(db.select(Group.name)))
    assert names == {"7A-ny", "Ma7"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{ inte json", "inte giltig JSON (rad 1"),
        (b'{"people": []}', "organisations, persons, duties och groups"),
        (b'{"persons": 5}', "persons ska vara en lista."),
    ],
)
def test_ss12000_file_errors(make, content, message):
    report = run(content, make.org())

    assert message in report.file_error


def test_ss12000_person_errors(make):
    org = make.org()
    unit = {"id": "u1", "displayName": "Skolan", "organisationType": "Skolenhet"}
    group = {
        "id": "g1",
        "displayName": "1A",
        "groupType": "Klass",
        "organisation": {"id": "u1"},
        "groupMemberships": [{"person": {"id": p}} for p in ("p1", "p2", "p3")],
    }
    persons = [
        {"id": "p1", "givenName": "A", "familyName": "B", "securityMarking": "Hemlig"},
        {"id": "p1", "givenName": "A", "familyName": "B"},
        {"id": "p3", "givenName": "", "familyName": "B", "emails": [{"value": "x@"}]},
        {
            "id": "p4",
            "givenName": "A",
            "familyName": "B",
            "responsibleFor": [{"person": {"id": "p9"}}],
        },
    ]
    document = {"organisations": [unit], "groups": [group], "persons": persons}

    report = run(json.dumps(document).encode(), org)

    assert report.line_label == "Person"
    assert messages(report.errors) == [
        (
            1,
            "securityMarking 'hemlig' är okänd (Ingen, Sekretessmarkering eller Skyddad "
            "folkbokföring).",
        ),
        (2, "id p1 finns redan (person 1)."),
        (3, "Förnamn (givenName) saknas."),
        (3, "E-postadressen 'x@' är inte giltig."),
        (4, "guardian_of: eleven 'p9' finns inte i filen."),
    ]
    assert people_of(org) == {}


# --- CLI ---------------------------------------------------------------------------------


@pytest.fixture
def cli(app, runner):
    if "directory" not in app.cli.commands:
        app.cli.add_command(directory_cli)
    return runner


def test_cli_dry_run_and_import(make, cli, tmp_path):
    org = make.org()
    path = tmp_path / "katalog.csv"
    path.write_bytes(
        csv_file(
            student(protected_identity="ja", mobile="08-123 45 67", given_name="Hemlig"),
            teacher(),
        )
    )

    result = cli.invoke(
        args=["directory", "import", str(path), "--org", org.org_number, "--dry-run"]
    )

    assert result.exit_code == 0, result.output
    assert "Provkörning – inget har ändrats." in result.output
    assert "Personer: 2 skapas, 0 uppdateras, 0 inaktiveras, 0 oförändrade" in result.output
    assert "Rad 2: Numret (skyddad identitet) är inte ett mobilnummer" in result.output
    assert "Hemlig" not in result.output and "08-123" not in result.output
    assert people_of(org) == {}

    result = cli.invoke(args=["directory", "import", str(path), "--org", org.org_number])

    assert result.exit_code == 0, result.output
    assert "Katalogen är importerad." in result.output
    assert "Personer: 2 skapade" in result.output
    assert len(people_of(org)) == 2


def test_cli_reports_errors_with_exit_status_1(make, cli, tmp_path):
    org = make.org()
    path = tmp_path / "katalog.csv"
    path.write_bytes(csv_file(student(), student("e2", role="fel")))

    result = cli.invoke(args=["directory", "import", str(path), "--org", org.org_number])

    assert result.exit_code == 1
    assert "Rad 3: Okänd roll 'fel'." in result.output
    assert set(people_of(org)) == {"e1"}

    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"a\tb\n")
    result = cli.invoke(args=["directory", "import", str(bad), "--org", org.org_number])
    assert result.exit_code == 1 and "tabbar" in result.output

    result = cli.invoke(args=["directory", "import", str(path), "--org", "212000-0142"])
    assert result.exit_code == 1 and "ingen organisation" in result.output


# --- the admin page ----------------------------------------------------------------------


@pytest.fixture
def admin(make):
    return make.person(Role.ADMIN, make.org(), terms_accepted_at=utcnow())


def upload(client, content, filename="katalog.csv", full=True):
    page = client.get("/directory/import").get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "file": (io.BytesIO(content), filename)}
    if full:
        data["full"] = "y"
    return client.post("/directory/import", data=data, content_type="multipart/form-data")


def test_admin_previews_then_imports(client, auth, admin):
    auth.login(admin.email)
    content = csv_file(
        student(), student("e2", mobile="08-123 45 67"), student("e3", role="x"), guardian()
    )

    preview = upload(client, content)

    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "Förhandsgranskning" in html and "Rad 4" in html and "Okänd roll" in html
    assert "08-123 45 67 är inte ett mobilnummer" in html
    assert set(people_of(admin.organisation)) == {None}  # a preview changes nothing

    result = client.post(
        "/directory/import/apply",
        data={"csrf_token": csrf_token(html), "token": _token(html)},
    )

    assert result.status_code == 200, result.get_data(as_text=True)
    assert "Katalogen är importerad" in result.get_data(as_text=True)
    assert set(people_of(admin.organisation)) == {None, "e1", "e2", "v1"}

    replay = client.post(
        "/directory/import/apply",
        data={"csrf_token": csrf_token(html), "token": _token(html)},
    )
    assert replay.status_code == 303


def _token(html):
    return re.search(r'name="token" type="hidden" value="([^"]+)"', html).group(1)


def test_protected_people_are_not_shown_in_the_preview(client, auth, admin):
    auth.login(admin.email)
    row = student(given_name="Hemliga", mobile="08-123 45 67", protected_identity="ja")

    html = upload(client, csv_file(row)).get_data(as_text=True)

    assert "Hemliga" not in html and "08-123" not in html
    assert "skyddad identitet" in html


def test_upload_without_a_file_or_with_a_bad_file_is_422(client, auth, admin):
    auth.login(admin.email)
    page = client.get("/directory/import").get_data(as_text=True)

    empty = client.post("/directory/import", data={"csrf_token": csrf_token(page)})
    bad = upload(client, b"a\tb\n")

    assert empty.status_code == 422 and "Välj en fil" in empty.get_data(as_text=True)
    assert bad.status_code == 422 and "tabbar" in bad.get_data(as_text=True)


def test_a_token_from_another_admin_does_nothing(client, auth, admin, make):
    auth.login(admin.email)
    html = upload(client, csv_file(student())).get_data(as_text=True)
    auth.logout()
    db.session.rollback()  # end the test's read snapshot before writing
    other = make.person(Role.ADMIN, make.org(), terms_accepted_at=utcnow())
    auth.login(other.email)
    page = client.get("/directory/import").get_data(as_text=True)

    response = client.post(
        "/directory/import/apply", data={"csrf_token": csrf_token(page), "token": _token(html)}
    )

    assert response.status_code == 303
    assert len(people_of(other.organisation)) == 1 and len(people_of(admin.organisation)) == 1


@pytest.mark.parametrize("role", [Role.STAFF, Role.PRINCIPAL, Role.STUDENT, Role.GUARDIAN])
def test_only_admins_may_import(client, auth, make, role):
    person = make.person(role, make.org(), terms_accepted_at=utcnow())
    auth.login(person.email)

    assert client.get("/directory/import").status_code == 403
    assert client.post("/directory/import").status_code in (400, 403)
    assert client.post("/directory/import/apply").status_code in (400, 403)


def test_operators_may_not_import(client, auth, make):
    operator = make.person(Role.OPERATOR)
    auth.login(operator.email)

    assert client.get("/directory/import").status_code == 403


def test_anonymous_visitors_are_sent_to_login(client):
    assert client.get("/directory/import").status_code == 302


def test_uploads_over_the_limit_are_refused(client, auth, admin):
    auth.login(admin.email)
    body = b"x" * (MAX_UPLOAD_BYTES + 70_000)

    response = client.post(
        "/directory/import", data=body, content_type="multipart/form-data; boundary=x"
    )

    assert response.status_code == 413
