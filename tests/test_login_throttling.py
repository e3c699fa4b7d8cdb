"""Brute force against the login: limits per account and per address, one generic
answer for every kind of wrong, and every failed attempt in the audit log."""

import re

from portal.extensions import db
from portal.models import AuditEvent, Role
from tests.conftest import csrf_token

GENERIC = "Fel e-postadress eller lösenord."


def attempt(client, token, email, password="fel-lösenord", ip=None):
    headers = {"X-Forwarded-For": ip} if ip else {}
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        headers=headers,
    )


def token_of(client):
    return csrf_token(client.get("/login").get_data(as_text=True))


def failed_logins():
    db.session.rollback()
    return db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "login.failed").order_by(AuditEvent.id)
    ).all()


def test_one_address_is_limited_across_accounts(client, make):
    token = token_of(client)
    statuses = [attempt(client, token, f"gissning{n}@example.se").status_code for n in range(21)]
    assert statuses == [422] * 20 + [429]
    # The right password does not get through either, until the window has passed.
    person = make.person()
    assert attempt(client, token, person.email, make.PASSWORD).status_code == 429


def test_one_account_is_limited_across_addresses(make_app, make):
    app = make_app(TRUSTED_PROXY_COUNT=1)
    client = app.test_client()
    person = make.person()
    token = token_of(client)
    statuses = [
        attempt(client, token, person.email, ip=f"198.51.100.{n}").status_code for n in range(6)
    ]
    assert statuses == [422] * 5 + [429]
    # Upper case or spaces around the address are the same account.
    assert (
        attempt(client, token, f"  {person.email.upper()} ", ip="198.51.100.99").status_code == 429
    )


def test_forwarded_addresses_count_only_behind_a_trusted_proxy(client, make):
    """Without TRUSTED_PROXY_COUNT a client cannot dodge the limit by forging X-Forwarded-For."""
    token = token_of(client)
    statuses = [
        attempt(client, token, f"g{n}@example.se", ip=f"203.0.113.{n}").status_code
        for n in range(21)
    ]
    assert statuses[-1] == 429


def test_behind_a_proxy_each_visitor_has_their_own_limit(app, make_app):
    client = make_app(TRUSTED_PROXY_COUNT=1).test_client()
    token = token_of(client)
    for n in range(20):
        assert attempt(client, token, f"a{n}@example.se", ip="198.51.100.1").status_code == 422
    assert attempt(client, token, "a20@example.se", ip="198.51.100.1").status_code == 429
    assert attempt(client, token, "b@example.se", ip="198.51.100.2").status_code == 422


def test_the_answer_is_the_same_for_every_kind_of_wrong(client, make):
    person = make.person()
    inactive = make.person(active=False)
    no_password = make.person(Role.GUARDIAN, password=None)
    token = token_of(client)

    def answer(email, password="fel-lösenord"):
        response = attempt(client, token, email, password)
        html = response.get_data(as_text=True)
        main = html[html.index("<main") : html.index("</main>")]
        return response.status_code, re.sub(r'value="[^"]*"', "", main)

    wrong_password = answer(person.email)
    assert wrong_password[0] == 422 and GENERIC in wrong_password[1]
    assert answer("ingen@example.se") == wrong_password
    assert answer(inactive.email) == wrong_password
    assert answer(no_password.email, "x") == wrong_password


def test_every_failed_attempt_is_audited_without_the_password(client, make):
    person = make.person(Role.STAFF)
    token = token_of(client)
    attempt(client, token, person.email, "hemligt-fel-1")
    attempt(client, token, "okand@example.se", "hemligt-fel-2")
    known, unknown = failed_logins()
    assert (known.subject_id, known.organisation_id) == (person.id, person.organisation_id)
    assert (unknown.subject_id, unknown.actor_id) == (None, None)
    assert known.details == {"ip": "127.0.0.1"}
    assert "hemligt" not in str(known.details) + str(unknown.details)
    assert "okand" not in str(unknown.details)


def test_the_audit_shows_the_visitors_address_behind_a_proxy(make_app, make):
    client = make_app(TRUSTED_PROXY_COUNT=1).test_client()
    attempt(client, token_of(client), make.person().email, ip="198.51.100.7")
    (event,) = failed_logins()
    assert event.details["ip"] == "198.51.100.7"
