"""'Ta bort kontaktuppgifter': a person's e-mail and numbers leave every table."""

import pytest

from portal.extensions import db
from portal.models import (
    AuditEvent,
    Channel,
    MessageStatus,
    PasswordToken,
    Person,
    Recipient,
    RecipientStatus,
    Role,
)
from portal.people.erasure import erase_person
from tests.conftest import AuthActions, csrf_token, fresh
from tests.tenants import make_message


@pytest.fixture
def org(make):
    return make.org(name="Raderby kommun")


@pytest.fixture
def admin(make, org, auth):
    person = make.person(Role.ADMIN, org, given_name="Anna", family_name="Admin")
    auth.login(person.email)
    db.session.rollback()  # end the test's read snapshot: the sign-in wrote to the database
    return person


@pytest.fixture
def guardian(make, org):
    return make.person(
        Role.GUARDIAN,
        org,
        given_name="Gustav",
        family_name="Vårdnad",
        email="gustav.vardnad@example.se",
        mobile="+46701740605",
        mobile_rejected="08-123 45",
    )


@pytest.fixture
def other(make, org, guardian):
    """Another guardian; both got a message that is done, the guardian also one still sending."""
    staff = make.person(Role.STAFF, org)
    other = make.person(Role.GUARDIAN, org, mobile="+46701740699")
    make_message(
        staff,
        recipients=[
            (guardian, Channel.SMS, RecipientStatus.DELIVERED, guardian.mobile),
            (guardian, Channel.EMAIL, RecipientStatus.SENT, guardian.email),
            (other, Channel.SMS, RecipientStatus.DELIVERED, other.mobile),
        ],
    )
    make_message(
        staff,
        status=MessageStatus.SENDING,
        recipients=[(guardian, Channel.SMS, RecipientStatus.PENDING, guardian.mobile)],
    )
    return other


def recipients_of(person):
    db.session.rollback()
    return db.session.scalars(
        db.select(Recipient).where(Recipient.person_id == person.id).order_by(Recipient.id)
    ).all()


def test_erasing_removes_contact_data_everywhere(app, make, org, guardian, other):
    admin = make.person(Role.ADMIN, org)
    db.session.add(
        PasswordToken(
            person_id=guardian.id,
            token_hash="x" * 64,
            expires_at=guardian.created_at,
            created_by_id=admin.id,
        )
    )
    db.session.commit()

    erase_person(guardian, by=admin)
    db.session.commit()

    person = fresh(guardian)
    assert (person.email, person.mobile, person.mobile_rejected) == (None, None, None)
    assert person.password_hash is None and not person.active
    assert person.session_version == 1
    assert person.full_name == "Gustav Vårdnad"
    sent_sms, sent_mail, pending = recipients_of(guardian)
    assert [r.address for r in (sent_sms, sent_mail, pending)] == ["", "", ""]
    assert sent_sms.provider_id is None
    assert (sent_sms.status, sent_sms.parts) == (RecipientStatus.DELIVERED, 1)
    assert pending.status == RecipientStatus.CANCELLED
    assert db.session.scalars(db.select(PasswordToken)).all() == []
    # Nobody else is touched.
    (others,) = recipients_of(other)
    assert others.address == "+46701740699" and fresh(other).mobile == "+46701740699"
    event = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "person.erased")
    ).one()
    assert (event.actor_id, event.subject_id, event.organisation_id) == (
        admin.id,
        guardian.id,
        org.id,
    )
    assert "Gustav" not in str(event.details) and "0605" not in str(event.details)


def test_an_erased_person_is_signed_out_and_cannot_sign_in(app, make, org):
    person = make.person(Role.STAFF, org)
    client = app.test_client()
    AuthActions(client).login(person.email)
    assert client.get("/profile").status_code == 200
    db.session.rollback()  # the sign-in wrote to the database
    erase_person(person, by=make.person(Role.ADMIN, org))
    db.session.commit()
    assert client.get("/profile").status_code == 302
    assert AuthActions(client).login(person.email).status_code == 422


def test_the_admin_erases_from_the_people_page(client, admin, guardian, other):
    page = client.get("/people").get_data(as_text=True)
    assert "Gustav Vårdnad" in page and "gustav.vardnad@example.se" in page
    assert "070-174 06 05" in page
    assert f'href="/people/{guardian.id}/erase"' in page
    assert f'href="/people/{admin.id}/erase"' not in page

    confirm = client.get(f"/people/{guardian.id}/erase").get_data(as_text=True)
    assert "Ta bort kontaktuppgifter" in confirm and "Gustav Vårdnad" in confirm
    assert fresh(guardian).email is not None  # the page itself changes nothing

    response = client.post(f"/people/{guardian.id}/erase", data={"csrf_token": csrf_token(confirm)})
    assert response.status_code == 303 and response.headers["Location"] == "/people"
    assert fresh(guardian).email is None
    after = client.get("/people").get_data(as_text=True)
    assert "Kontaktuppgifterna är borttagna." in after
    assert "gustav.vardnad@example.se" not in after and "Inaktiv" in after


def test_the_search_finds_people_by_name_but_never_protected_ones(client, admin, make, org):
    make.person(Role.STUDENT, org, given_name="Sara", family_name="Sökbar")
    make.person(
        Role.STUDENT, org, given_name="Sara", family_name="Skyddad", protected_identity=True
    )
    page = client.get("/people?q=sara").get_data(as_text=True)
    assert "Sara Sökbar" in page and "Skyddad identitet" not in page
    everyone = client.get("/people").get_data(as_text=True)
    assert "Skyddad identitet" in everyone and "Sara Skyddad" not in everyone


def test_an_admin_cannot_erase_themselves(client, admin):
    page = client.get("/people").get_data(as_text=True)
    response = client.post(f"/people/{admin.id}/erase", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 303
    assert fresh(admin).email is not None


@pytest.mark.parametrize("role", [Role.STAFF, Role.PRINCIPAL, Role.GUARDIAN, Role.OPERATOR])
def test_only_admins_may_erase(app, make, org, guardian, role):
    person = make.person(role, None if role == Role.OPERATOR else org)
    client = app.test_client()
    AuthActions(client).login(person.email)
    assert client.get("/people").status_code == 403
    token = csrf_token(client.get("/").get_data(as_text=True))
    response = client.post(f"/people/{guardian.id}/erase", data={"csrf_token": token})
    assert response.status_code == 403
    assert fresh(guardian).email is not None


def test_a_person_of_another_organisation_is_a_404(client, admin, make):
    stranger = make.person(Role.GUARDIAN, make.org(), email="stranger@example.se")
    page = client.get("/people").get_data(as_text=True)
    assert client.get(f"/people/{stranger.id}/erase").status_code == 404
    response = client.post(f"/people/{stranger.id}/erase", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 404
    assert fresh(stranger).email == "stranger@example.se"
    assert db.session.get(Person, stranger.id).active
