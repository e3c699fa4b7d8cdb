"""Whose messages a sender sees on /messages and /messages/<id>: admins all of the
organisation's, principals their own and their schools' staff's, staff their own."""

import pytest

from portal.auth.passwords import set_password
from portal.extensions import db
from tests.directory_builders import Directory
from tests.factories import Factory
from tests.tenants import make_message


@pytest.fixture
def school_messages(make):
    d = Directory(make)
    north, south = d.school("Norrskolan"), d.school("Söderskolan")
    people = {
        "principal": d.principal(north),
        "teacher": d.staff(north),
        "colleague": d.staff(north),
        "elsewhere": d.staff(south),
        "admin": d.admin(),
    }
    for person in people.values():
        set_password(person, Factory.PASSWORD)
    db.session.commit()
    messages = {
        name: make_message(people[name], subject=f"Från {name}").id
        for name in ("principal", "teacher", "colleague", "elsewhere")
    }
    return people, messages


@pytest.mark.parametrize(
    ("viewer", "sees"),
    [
        ("admin", {"principal", "teacher", "colleague", "elsewhere"}),
        ("principal", {"principal", "teacher", "colleague"}),
        ("teacher", {"teacher"}),
        ("elsewhere", {"elsewhere"}),
    ],
)
def test_each_role_sees_its_scope(client, auth, school_messages, viewer, sees):
    people, messages = school_messages
    auth.login(people[viewer].email)
    listing = client.get("/messages").get_data(as_text=True)
    for name, message_id in messages.items():
        assert (f"Från {name}" in listing) == (name in sees)
        status = client.get(f"/messages/{message_id}").status_code
        assert status == (200 if name in sees else 404), name
