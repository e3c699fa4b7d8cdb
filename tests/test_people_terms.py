"""The terms flow: everyone but operators reads "Om SMS-portalen" and accepts before
anything else (issue #5, point 2)."""

import pytest

from portal.extensions import db
from portal.models import AuditEvent, Role
from portal.models.base import utcnow
from tests.conftest import csrf_token, fresh

ABOUT = "/om-sms-portalen"
LABEL = "Jag har tagit del av informationen"
RECIPIENT_ROLES = [Role.ADMIN, Role.PRINCIPAL, Role.STAFF, Role.STUDENT, Role.GUARDIAN]


@pytest.fixture
def newcomer(make):
    """A guardian who can sign in but has not accepted the terms."""
    return make.person(Role.GUARDIAN, terms_accepted_at=None)


def accept(client, next_page=None, ticked=True):
    url = ABOUT + (f"?next={next_page}" if next_page else "")
    data = {"csrf_token": csrf_token(client.get(url).get_data(as_text=True))}
    if ticked:
        data["accepted"] = "y"
    return client.post(url, data=data)


def audit_actions(person):
    db.session.rollback()  # end the test's snapshot: see what the requests committed
    return db.session.scalars(
        db.select(AuditEvent.action).where(
            AuditEvent.subject_id == person.id, AuditEvent.action.not_like("login.%")
        )
    ).all()


@pytest.mark.parametrize("role", RECIPIENT_ROLES)
def test_every_role_but_operators_meets_the_about_page_after_login(client, auth, make, role):
    person = make.person(role, terms_accepted_at=None)
    auth.login(person.email)
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == f"{ABOUT}?next=/"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<h1>Om SMS-portalen</h1>" in page
    assert LABEL in page


@pytest.mark.parametrize("path", ["/", "/profile", "/login", "/profile?x=1"])
def test_every_page_leads_to_the_about_page_until_accepted(client, auth, newcomer, path):
    auth.login(newcomer.email)
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(ABOUT)


def test_operators_have_no_terms(client, auth, make):
    operator = make.person(Role.OPERATOR, terms_accepted_at=None)
    auth.login(operator.email)
    assert client.get("/").status_code == 200
    page = client.get(ABOUT).get_data(as_text=True)
    assert LABEL not in page


def test_people_who_accepted_are_left_alone(client, auth, make):
    person = make.person(Role.STAFF, terms_accepted_at=utcnow())
    auth.login(person.email)
    assert client.get("/").status_code == 200
    assert LABEL not in client.get(ABOUT).get_data(as_text=True)


def test_anonymous_visitors_are_not_sent_to_the_about_page(client):
    assert client.get("/").status_code == 200
    assert client.get(ABOUT).headers["Location"].startswith("/login")


@pytest.mark.parametrize(
    "path",
    ["/healthz", "/logout", "/order", "/order/no-such-token", "/static/app.css", ABOUT],
)
def test_exempt_pages_open_without_accepting(client, auth, newcomer, path):
    auth.login(newcomer.email)
    response = client.get(path)
    response.close()
    assert response.status_code in (200, 404)


def test_the_set_password_page_opens_without_accepting(client, auth, newcomer):
    auth.login(newcomer.email)
    assert client.get("/set-password/no-such-token").status_code == 404


def test_logging_out_works_before_accepting(client, auth, newcomer):
    auth.login(newcomer.email)
    response = auth.logout()
    assert response.headers["Location"] == "/login"


def test_choosing_a_language_works_before_accepting(client, auth, newcomer):
    auth.login(newcomer.email)
    page = client.get(ABOUT).get_data(as_text=True)
    response = client.post(
        "/language", data={"lang": "en", "next": ABOUT, "csrf_token": csrf_token(page)}
    )
    assert response.headers["Location"] == ABOUT


def test_accepting_sets_the_time_and_is_audited(client, auth, newcomer):
    auth.login(newcomer.email)
    before = utcnow()
    response = accept(client)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert fresh(newcomer).terms_accepted_at >= before.replace(microsecond=0)
    assert audit_actions(newcomer) == ["terms.accepted"]
    [event] = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "terms.accepted")
    ).all()
    assert event.actor_id == newcomer.id
    assert event.organisation_id == newcomer.organisation_id
    assert client.get("/").status_code == 200


def test_unticked_is_refused_and_nothing_changes(client, auth, newcomer):
    auth.login(newcomer.email)
    response = accept(client, ticked=False)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Kryssa i rutan för att visa att du har läst informationen." in page
    assert 'id="accepted-error"' in page
    assert fresh(newcomer).terms_accepted_at is None
    assert audit_actions(newcomer) == []
    assert client.get("/").status_code == 302


def test_the_page_asked_for_is_kept(client, auth, newcomer):
    auth.login(newcomer.email)
    response = client.get("/profile?tab=1")
    assert response.headers["Location"] == f"{ABOUT}?next=/profile?tab%3D1"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'action="/om-sms-portalen?next=/profile?tab%3D1"' in page
    response = accept(client, next_page="/profile?tab%3D1")
    assert response.headers["Location"] == "/profile?tab=1"


def test_login_with_next_reaches_that_page_after_accepting(client, make):
    person = make.person(Role.STUDENT, terms_accepted_at=None)
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login?next=/profile",
        data={"email": person.email, "password": make.PASSWORD, "csrf_token": token},
    )
    response = client.get(response.headers["Location"])
    assert response.headers["Location"] == f"{ABOUT}?next=/profile"
    assert accept(client, next_page="/profile").headers["Location"] == "/profile"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example"])
def test_next_never_leaves_the_site(client, auth, newcomer, target):
    auth.login(newcomer.email)
    assert accept(client, next_page=target).headers["Location"] == "/"


def test_htmx_requests_are_redirected_by_header(client, auth, newcomer):
    auth.login(newcomer.email)
    response = client.get(
        "/profile",
        headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/profile"},
    )
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == f"{ABOUT}?next=/profile"
    assert not response.get_data()


def test_a_form_post_before_accepting_goes_to_the_about_page(client, auth, newcomer):
    auth.login(newcomer.email)
    token = csrf_token(client.get(ABOUT).get_data(as_text=True))
    response = client.post("/profile", data={"mobile": "0701740677", "csrf_token": token})
    assert response.headers["Location"] == ABOUT
    assert fresh(newcomer).mobile is None


def test_accepting_twice_records_once(client, auth, newcomer):
    auth.login(newcomer.email)
    page = client.get(ABOUT).get_data(as_text=True)
    data = {"accepted": "y", "csrf_token": csrf_token(page)}
    assert client.post(ABOUT, data=data).status_code == 303
    assert client.post(ABOUT, data=data).status_code == 303
    assert audit_actions(newcomer) == ["terms.accepted"]


def test_the_about_page_says_what_the_portal_is_and_that_sms_is_free(client, auth, newcomer):
    auth.login(newcomer.email)
    page = client.get(ABOUT).get_data(as_text=True)
    assert "Det kostar dig ingenting" in page
    assert "Vem får SMS?" in page
    assert "tar du bort numret" in page
    assert ">Fortsätt</button>" in page
