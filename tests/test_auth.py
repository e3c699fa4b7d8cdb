"""Signing in and out, roles and login throttling."""

import pytest
from flask import Blueprint
from flask_login import current_user

from portal.models import Role
from portal.security import role_required
from tests.conftest import csrf_token, fresh


def test_login_page_has_the_labelled_fields(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<label class="label" for="email">E-postadress</label>' in page
    assert '<label class="label" for="password">Lösenord</label>' in page
    assert ">Logga in</button>" in page


def test_login_and_logout(client, auth, make):
    person = make.person(Role.STAFF)
    response = auth.login(person.email.upper())
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert person.given_name in client.get("/").get_data(as_text=True)
    assert fresh(person).last_login_at is not None

    response = auth.logout()
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert person.given_name not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("password", ["fel-lösenord", ""])
def test_wrong_password_is_refused_in_swedish(client, auth, make, password):
    person = make.person()
    response = auth.login(person.email, password)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Fel e-postadress eller lösenord." in page or "Ange ditt lösenord." in page
    assert 'class="error-summary"' in page


def test_unknown_and_inactive_accounts_get_the_same_answer(client, auth, make):
    inactive = make.person(active=False)
    unknown = auth.login("ingen@example.se").get_data(as_text=True)
    assert "Fel e-postadress eller lösenord." in unknown
    assert "Fel e-postadress eller lösenord." in auth.login(inactive.email).get_data(as_text=True)


def test_person_without_password_cannot_log_in(auth, make):
    person = make.person(Role.GUARDIAN, password=None)
    assert auth.login(person.email, "").status_code == 422


def test_next_only_redirects_within_the_site(client, make):
    person = make.person()
    for target, expected in [
        ("/healthz", "/healthz"),
        ("//evil.example", "/"),
        ("https://x.se", "/"),
    ]:
        client.delete_cookie("portal_session")
        token = csrf_token(client.get("/login").get_data(as_text=True))
        response = client.post(
            f"/login?next={target}",
            data={"email": person.email, "password": make.PASSWORD, "csrf_token": token},
        )
        assert response.headers["Location"] == expected


def test_login_is_throttled_per_account(client, make):
    person, other = make.person(), make.person()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    responses = [
        client.post("/login", data={"email": person.email, "password": "fel", "csrf_token": token})
        for _ in range(6)
    ]
    assert [response.status_code for response in responses] == [422] * 5 + [429]
    assert "För många försök" in responses[5].get_data(as_text=True)
    assert (
        client.post(
            "/login", data={"email": other.email, "password": make.PASSWORD, "csrf_token": token}
        ).status_code
        == 302
    )


def test_session_cookie_flags(client, auth, make):
    auth.login(make.person().email)
    cookie = client.get_cookie("portal_session")
    assert cookie.http_only
    assert cookie.same_site == "Lax"


def test_logout_by_get_only_asks(client, auth, make):
    person = make.person()
    auth.login(person.email)
    page = client.get("/logout").get_data(as_text=True)
    assert "Vill du logga ut" in page
    assert person.given_name in client.get("/").get_data(as_text=True)


@pytest.fixture
def guarded_app(app):
    """An extra blueprint with a view only principals and admins may open."""
    blueprint = Blueprint("guarded_test", __name__)

    @blueprint.get("/test-only/principals")
    @role_required(Role.PRINCIPAL, Role.ADMIN)
    def principals_only():
        return f"hej {current_user.role}"

    app.register_blueprint(blueprint)
    return app


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.ADMIN, 200),
        (Role.PRINCIPAL, 200),
        (Role.STAFF, 403),
        (Role.STUDENT, 403),
        (Role.GUARDIAN, 403),
        (Role.OPERATOR, 403),
    ],
)
def test_role_required(guarded_app, auth, make, role, status):
    client = guarded_app.test_client()
    person = make.person(role)
    token = csrf_token(client.get("/login").get_data(as_text=True))
    client.post(
        "/login", data={"email": person.email, "password": make.PASSWORD, "csrf_token": token}
    )
    assert client.get("/test-only/principals").status_code == status


def test_role_required_sends_anonymous_visitors_to_login(guarded_app):
    response = guarded_app.test_client().get("/test-only/principals")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
