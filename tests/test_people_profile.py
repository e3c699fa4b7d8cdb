"""/profile: a person sees their own details and changes or removes their own mobile
number (issue #5, point 2)."""

import pytest

from portal.extensions import db
from portal.models import AuditEvent, Role
from portal.models.base import utcnow
from portal.people.mobile import display, parse_mobile
from portal.sms.phone import InvalidPhone
from tests.conftest import csrf_token, fresh

NUMBER = "+46701740677"


@pytest.fixture
def guardian(make):
    return make.person(
        Role.GUARDIAN,
        given_name="Karin",
        family_name="Lindberg",
        mobile="+46701740605",
        terms_accepted_at=utcnow(),
    )


def save(client, value):
    token = csrf_token(client.get("/profile").get_data(as_text=True))
    return client.post("/profile", data={"mobile": value, "csrf_token": token})


def audit_events():
    """Recorded events, oldest first; sign-ins (audited too) left out."""
    db.session.rollback()
    return db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action.not_like("login.%")).order_by(AuditEvent.id)
    ).all()


def test_a_person_sees_their_own_details(client, auth, guardian):
    auth.login(guardian.email)
    page = client.get("/profile").get_data(as_text=True)
    assert "Karin Lindberg" in page
    assert "Vårdnadshavare" in page
    assert guardian.organisation.name in page
    assert guardian.email in page
    assert "070-174 06 05" in page
    assert 'value="070-174 06 05"' in page
    assert '<label class="label" for="mobile">Mobilnummer</label>' in page


def test_profile_needs_a_login(client):
    assert client.get("/profile").headers["Location"].startswith("/login")


def test_a_valid_number_is_stored_in_e164(client, auth, guardian):
    auth.login(guardian.email)
    response = save(client, "070-174 06 77")
    assert response.status_code == 303
    assert response.headers["Location"] == "/profile"
    assert fresh(guardian).mobile == NUMBER
    page = client.get("/profile").get_data(as_text=True)
    assert "Ditt mobilnummer är sparat." in page
    assert "070-174 06 77" in page


@pytest.mark.parametrize(
    "typed", ["701740677", "46701740677", "+46 (0)70-174 06 77", "0046 70 174 06 77"]
)
def test_what_spreadsheets_do_to_numbers_is_repaired(client, auth, guardian, typed):
    auth.login(guardian.email)
    assert save(client, typed).status_code == 303
    assert fresh(guardian).mobile == NUMBER


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("12345", "Ange ett mobilnummer, till exempel 070-123 45 67."),
        ("inte ett nummer", "Ange ett mobilnummer, till exempel 070-123 45 67."),
        ("08-123 456 78", "Numret är inte ett mobilnummer och kan inte ta emot SMS."),
        ("0" * 40, "Högst 30 tecken."),
    ],
)
def test_invalid_numbers_and_landlines_are_refused(client, auth, guardian, typed, message):
    auth.login(guardian.email)
    response = save(client, typed)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert 'id="mobile-error"' in page
    assert 'aria-invalid="true"' in page
    assert fresh(guardian).mobile == "+46701740605"
    assert audit_events() == []


def test_clearing_the_field_removes_the_number(client, auth, make):
    person = make.person(
        Role.STUDENT, mobile="+46701740605", mobile_rejected="08-123", terms_accepted_at=utcnow()
    )
    auth.login(person.email)
    response = save(client, "  ")
    assert response.status_code == 303
    person = fresh(person)
    assert person.mobile is None
    assert person.mobile_rejected is None
    page = client.get("/profile").get_data(as_text=True)
    assert "Du får inga SMS" in page
    assert "Inget mobilnummer" in page


def test_a_change_is_audited_without_the_number(client, auth, guardian):
    auth.login(guardian.email)
    save(client, "0701740677")
    save(client, "")
    changed, removed = audit_events()
    assert changed.action == "profile.mobile_changed"
    assert changed.actor_id == changed.subject_id == guardian.id
    assert changed.details == {"previous": "+46*******05", "mobile": "+46*******77"}
    assert removed.action == "profile.mobile_removed"
    assert removed.details == {"previous": "+46*******77"}
    assert all(
        "0701740677" not in str(e.details) and NUMBER not in str(e.details)
        for e in [changed, removed]
    )


def test_saving_the_same_number_changes_nothing(client, auth, guardian):
    auth.login(guardian.email)
    assert save(client, "070-174 06 05").status_code == 303
    assert audit_events() == []


def test_a_rejected_imported_number_is_explained(client, auth, make):
    person = make.person(Role.GUARDIAN, mobile_rejected="08-123 456 78", terms_accepted_at=utcnow())
    auth.login(person.email)
    page = client.get("/profile").get_data(as_text=True)
    assert "08-123 456 78" in page
    assert "kan inte ta emot SMS" in page


def test_only_the_signed_in_persons_number_can_change(client, auth, guardian, make):
    other = make.person(Role.GUARDIAN, organisation=guardian.organisation, mobile="+46701740699")
    auth.login(guardian.email)
    token = csrf_token(client.get("/profile").get_data(as_text=True))
    response = client.post(
        "/profile",
        data={"mobile": "0701740677", "csrf_token": token, "id": other.id, "person_id": other.id},
    )
    assert response.status_code == 303
    assert fresh(other).mobile == "+46701740699"
    assert fresh(guardian).mobile == NUMBER
    assert client.post(f"/profile/{other.id}", data={"csrf_token": token}).status_code == 404


def test_a_post_without_csrf_is_refused(client, auth, guardian):
    auth.login(guardian.email)
    assert client.post("/profile", data={"mobile": "0701740677"}).status_code == 400
    assert fresh(guardian).mobile == "+46701740605"


def test_operators_have_a_profile_without_organisation(client, auth, make):
    operator = make.person(Role.OPERATOR)
    auth.login(operator.email)
    page = client.get("/profile").get_data(as_text=True)
    assert "Operatör" in page
    assert "<dt>Organisation</dt>" not in page


def test_parse_mobile_messages():
    assert parse_mobile("070 174 06 77") == NUMBER
    with pytest.raises(InvalidPhone, match="inte ett mobilnummer"):
        parse_mobile("08-123 456 78")
    with pytest.raises(InvalidPhone, match="Ange ett mobilnummer"):
        parse_mobile("070")


def test_display_formats_swedish_numbers_nationally_and_others_internationally():
    assert display("+46701740605") == "070-174 06 05"
    assert display("+4791234567") == "+47 91 23 45 67"
    assert display(None) == ""
