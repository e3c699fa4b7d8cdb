"""Every form and every HTMX request carries a CSRF token; requests without one change nothing."""

from portal.models import Role
from tests.conftest import csrf_token


def test_form_post_without_token_is_refused(client, make):
    person = make.person()
    response = client.post("/login", data={"email": person.email, "password": make.PASSWORD})
    assert response.status_code == 400
    assert "säkerhetstoken" in response.get_data(as_text=True)
    assert client.get_cookie("portal_session") is None or person.given_name not in client.get(
        "/"
    ).get_data(as_text=True)


def test_form_post_with_forged_token_is_refused(client, make):
    person = make.person()
    client.get("/login")
    response = client.post(
        "/login",
        data={"email": person.email, "password": make.PASSWORD, "csrf_token": "forged"},
    )
    assert response.status_code == 400


def test_htmx_request_uses_the_body_header(client, auth, make):
    auth.login(make.person(Role.STAFF).email)
    page = client.get("/").get_data(as_text=True)
    assert '<body hx-headers=\'{"X-CSRFToken": "' in page
    token = csrf_token(page)

    refused = client.post("/logout", headers={"HX-Request": "true"})
    assert refused.status_code == 400
    assert 'class="error-panel"' in refused.get_data(as_text=True)
    assert "<html" not in refused.get_data(as_text=True)

    accepted = client.post("/logout", headers={"HX-Request": "true", "X-CSRFToken": token})
    assert accepted.status_code == 302


def test_every_form_on_the_pages_has_a_token(client, auth, make):
    auth.login(make.person(Role.ADMIN).email)
    for path in ("/", "/logout"):
        page = client.get(path).get_data(as_text=True)
        assert page.count("<form") == page.count('name="csrf_token"'), path
