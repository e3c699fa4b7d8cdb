"""Error pages in Swedish, as fragments for HTMX, never a stack trace."""

import pytest
from flask import Blueprint, abort

from portal.extensions import csrf


@pytest.fixture
def failing_app(app):
    blueprint = Blueprint("failing_test", __name__)

    @blueprint.route("/test-only/abort/<int:code>", methods=["GET", "POST"])
    def aborting(code):
        abort(code)

    @blueprint.get("/test-only/crash")
    def crashing():
        raise RuntimeError("secret internal detail")

    csrf.exempt(blueprint)
    app.register_blueprint(blueprint)
    return app


@pytest.mark.parametrize(
    ("code", "title"),
    [
        (400, "Felaktig begäran"),
        (403, "Åtkomst nekad"),
        (404, "Sidan finns inte"),
        (413, "För stor fil"),
        (422, "Uppgifterna kunde inte sparas"),
        (429, "För många försök"),
        (500, "Något gick fel"),
    ],
)
def test_error_pages_are_swedish(failing_app, code, title):
    client = failing_app.test_client()
    page = client.get(f"/test-only/abort/{code}")
    assert page.status_code == code
    assert f"<h1>{title}</h1>" in page.get_data(as_text=True)
    fragment = client.get(f"/test-only/abort/{code}", headers={"HX-Request": "true"})
    assert fragment.status_code == code
    assert fragment.get_data(as_text=True).startswith('<div class="error-panel"')
    assert "Vary" in fragment.headers and "HX-Request" in fragment.headers["Vary"]


def test_unknown_url_is_a_swedish_404(client):
    response = client.get("/finns-inte")
    assert response.status_code == 404
    assert "Sidan finns inte" in response.get_data(as_text=True)


def test_crash_shows_no_internals(failing_app):
    failing_app.testing = False
    failing_app.config["PROPAGATE_EXCEPTIONS"] = False
    response = failing_app.test_client().get("/test-only/crash")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Något gick fel" in body
    assert "secret internal detail" not in body
    assert "Traceback" not in body


def test_wrong_method_is_405_with_allow(client):
    response = client.put("/login")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]


def test_too_large_request_is_413(client, app):
    app.config["MAX_CONTENT_LENGTH"] = 10
    response = client.post("/login", data={"email": "x" * 100})
    assert response.status_code == 413
    assert "För stor fil" in response.get_data(as_text=True)


def test_security_headers(client):
    response = client.get("/login")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
