"""Sessions: a new session at sign-in, and a sign-out that no old cookie survives."""

from flask import session

from portal.auth.sessions import load_person
from portal.extensions import db
from portal.models import Role
from tests.conftest import AuthActions, csrf_token, fresh

COOKIE = "portal_session"


def session_of(app, client):
    """The decoded contents of the client's session cookie."""
    with app.test_request_context(headers={"Cookie": f"{COOKIE}={cookie(client)}"}):
        return dict(session)


def cookie(client):
    return client.get_cookie(COOKIE).value


def test_sign_in_starts_a_new_session(app, client, auth, make):
    person = make.person()
    before_token = csrf_token(client.get("/login").get_data(as_text=True))
    before = session_of(app, client)
    auth.login(person.email)
    after = session_of(app, client)
    assert after["_user_id"] == f"{person.id}.0"
    assert "csrf_token" in before and after.get("csrf_token") != before["csrf_token"]
    assert csrf_token(client.get("/profile").get_data(as_text=True)) != before_token


def test_the_chosen_language_survives_sign_in(client, auth, make):
    page = client.get("/login").get_data(as_text=True)
    client.post("/language", data={"lang": "en", "next": "/", "csrf_token": csrf_token(page)})
    auth.login(make.person().email)
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)


def test_a_cookie_replayed_after_sign_out_is_not_signed_in(client, auth, make):
    person = make.person(Role.ADMIN)
    auth.login(person.email)
    stolen = cookie(client)
    assert client.get("/profile").status_code == 200
    auth.logout()
    assert fresh(person).session_version == 1

    client.set_cookie(COOKIE, stolen)
    response = client.get("/profile")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_sign_out_ends_the_sessions_on_other_devices_too(app, make):
    person = make.person()
    laptop, phone = app.test_client(), app.test_client()
    AuthActions(laptop).login(person.email)
    AuthActions(phone).login(person.email)
    AuthActions(laptop).logout()
    assert phone.get("/profile").status_code == 302


def test_signing_in_again_after_sign_out_works(client, auth, make):
    person = make.person()
    auth.login(person.email)
    auth.logout()
    assert auth.login(person.email).status_code == 302
    assert client.get("/profile").status_code == 200


def test_the_loader_refuses_malformed_and_stale_ids(app, make):
    person = make.person()
    for session_id in (str(person.id), f"{person.id}.x", "x.0", f"{person.id}.1", ""):
        assert load_person(session_id) is None, session_id
    assert load_person(f"{person.id}.0") == person
    person.active = False
    db.session.commit()
    assert load_person(f"{person.id}.0") is None
