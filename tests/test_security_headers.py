"""Security headers on every kind of response: public and signed-in pages, HTMX
fragments, error pages, static files and the webhook; HSTS only in production."""

import re
from pathlib import Path

import pytest

from portal.models import Role
from portal.security import CONTENT_SECURITY_POLICY
from tests.conftest import AuthActions, csrf_token

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# What the policy would refuse to run: a <script> without src, a <style> element, a style
# attribute, an on…= handler, hx-on, a javascript: URL or an hx-vals 'js:' expression.
INLINE_CODE = re.compile(
    r"<script(?![^>]*\ssrc=)|<style|\sstyle=|\son[a-z]+=|hx-on|javascript:|\bjs:",
    re.IGNORECASE,
)

ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def assert_security_headers(response, *, private):
    for name, value in ALWAYS.items():
        assert response.headers.get(name) == value, name
    policy = response.headers["Content-Security-Policy"]
    assert policy == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "Strict-Transport-Security" not in response.headers
    if private:
        assert response.headers["Cache-Control"] == "no-store"
    else:
        assert "no-store" not in response.headers.get("Cache-Control", "")


def test_the_policy_forbids_inline_code_everywhere():
    directives = dict(part.split(" ", 1) for part in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["default-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert all("unsafe" not in value for value in directives.values())


def test_public_page(client):
    assert_security_headers(client.get("/order"), private=False)
    assert_security_headers(client.get("/login"), private=False)


def test_signed_in_pages(client, auth, make):
    auth.login(make.person(Role.ADMIN).email)
    for path in ("/", "/profile", "/messages", "/billing"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_security_headers(response, private=True)


def test_htmx_fragments_even_for_anonymous_visitors(client):
    page = client.get("/order").get_data(as_text=True)
    response = client.post(
        "/order/validate/org_name",
        data={"org_name": "", "csrf_token": csrf_token(page)},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "<html" not in response.get_data(as_text=True)
    assert_security_headers(response, private=True)
    assert "HX-Request" in response.headers["Vary"]


def test_htmx_fragment_for_a_signed_in_person(client, auth, make):
    auth.login(make.person(Role.STAFF).email)
    response = client.get("/no-such-page", headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert "<html" not in response.get_data(as_text=True)
    assert_security_headers(response, private=True)


@pytest.mark.parametrize(("path", "status"), [("/no-such-page", 404), ("/admin/audit", 302)])
def test_error_pages_and_redirects(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert_security_headers(response, private=False)


def test_error_page_for_a_signed_in_person(client, auth, make):
    auth.login(make.person(Role.STAFF).email)
    response = client.get("/admin/audit")
    assert response.status_code == 403
    assert_security_headers(response, private=True)


def test_static_files_stay_cacheable_also_when_signed_in(client, auth, make):
    anonymous = client.get("/static/app.css")
    anonymous.close()
    assert_security_headers(anonymous, private=False)
    auth.login(make.person().email)
    response = client.get("/static/vendor/htmx-2.0.11.min.js")
    response.close()
    assert response.status_code == 200
    assert_security_headers(response, private=False)


def test_webhook(client):
    response = client.post("/hooks/46elks/delivery?token=wrong", data={"id": "x"})
    assert response.status_code in (400, 403, 404)
    assert_security_headers(response, private=False)


def test_hsts_only_in_production(make_app, database_url):
    app = make_app(
        PORTAL_ENV="production",
        ALLOW_CONSOLE_PROVIDER=True,
        ALLOW_SQLITE=database_url.startswith("sqlite"),
    )
    response = app.test_client().get("/login")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def session_cookie_flags(response):
    cookie = next(
        value
        for value in response.headers.getlist("Set-Cookie")
        if value.startswith("portal_session=")
    )
    return {part.strip().lower() for part in cookie.split(";")[1:]}


def test_production_session_cookie_is_secure_httponly_and_lax(make_app, database_url, make):
    app = make_app(
        PORTAL_ENV="production",
        ALLOW_CONSOLE_PROVIDER=True,
        ALLOW_SQLITE=database_url.startswith("sqlite"),
    )
    person = make.person()
    response = AuthActions(app.test_client()).login(person.email)
    assert response.status_code == 302
    assert {"secure", "httponly", "samesite=lax"} <= session_cookie_flags(response)


def test_outside_production_the_cookie_works_over_plain_http(auth, make):
    """Development runs on http://: a Secure cookie would never come back."""
    flags = session_cookie_flags(auth.login(make.person().email))
    assert {"httponly", "samesite=lax"} <= flags
    assert "secure" not in flags


def test_pages_carry_no_inline_script_or_style(client, auth, make):
    pages = [client.get("/order"), client.get("/login")]
    auth.login(make.person(Role.ADMIN).email)
    pages += [client.get(path) for path in ("/", "/messages/new", "/billing", "/profile")]
    for response in pages:
        html = response.get_data(as_text=True)
        assert "<script>" not in html and "<style" not in html and " style=" not in html
        assert " onclick=" not in html and "hx-on" not in html and "javascript:" not in html
        assert '"allowEval": false' in html
        assert '"includeIndicatorStyles": false' in html


def test_no_template_carries_inline_script_or_style():
    """Every template, not just the pages above: the policy would refuse inline code, so
    a page using it would break in the browser. E-mail bodies are not web pages."""
    found = [
        f"{path.relative_to(TEMPLATES)}: {match.group()}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        if path.parent.name != "mail"
        for match in INLINE_CODE.finditer(path.read_text())
    ]
    assert found == []
    assert INLINE_CODE.search('<script src="/static/x.js" defer></script>') is None
    for inline in ("<script>", '<p style="x">', '<a onclick="x">', "hx-on:click", "js:{a:1}"):
        assert INLINE_CODE.search(inline), inline
