"""Invitations: an admin mails a single-use, 72-hour link to set a password
(issue #5, point 2)."""

import hashlib
import re
import threading
from datetime import timedelta

import pytest
from werkzeug.security import check_password_hash

from portal.extensions import db
from portal.models import AuditEvent, PasswordToken, Role
from portal.models.base import utcnow
from portal.queue import get_queue
from tests.conftest import AuthActions, csrf_token, fresh

BASE_URL = "https://sms.example.se"
LINK = re.compile(re.escape(BASE_URL) + r"/set-password/([A-Za-z0-9_-]+)")
NEW_PASSWORD = "ett långt lösenord"
DEAD_LINK = "Länken fungerar inte längre"


@pytest.fixture
def mailbox(app, smtp_server):
    app.config.update(MAIL_URL=smtp_server.url, PUBLIC_BASE_URL=BASE_URL)
    return smtp_server


@pytest.fixture
def org(make):
    return make.org(name="Exempelkommun")


@pytest.fixture
def admin(make, org):
    return make.person(Role.ADMIN, org, terms_accepted_at=utcnow())


@pytest.fixture
def invitee(make, org):
    return make.person(
        Role.GUARDIAN,
        org,
        password=None,
        given_name="Åsa",
        family_name="Öberg",
        email="asa.oberg@example.se",
        terms_accepted_at=None,
    )


def send_invitation(client, person):
    page = client.get("/people/invite").get_data(as_text=True)
    return client.post(f"/people/{person.id}/invite", data={"csrf_token": csrf_token(page)})


def links_in(mailbox):
    return [LINK.search(message.get_content()).group(1) for message in mailbox.messages]


def invite_and_mail(client, auth, admin, person, run_jobs, mailbox):
    """Sign in as `admin`, invite `person`, run the mail job, sign out; the link's secret."""
    auth.login(admin.email)
    assert send_invitation(client, person).status_code == 303
    run_jobs()
    auth.logout()
    return links_in(mailbox)[-1]


def choose_password(client, secret, password=NEW_PASSWORD, repeat=None):
    page = client.get(f"/set-password/{secret}")
    token = csrf_token(page.get_data(as_text=True))
    return client.post(
        f"/set-password/{secret}",
        data={"password": password, "repeat": repeat or password, "csrf_token": token},
    )


def tokens():
    db.session.rollback()  # end the test's snapshot: see what the requests committed
    return db.session.scalars(db.select(PasswordToken).order_by(PasswordToken.id)).all()


def audit_actions():
    """Recorded actions, oldest first; sign-ins (audited too) left out."""
    db.session.rollback()
    return db.session.scalars(
        db.select(AuditEvent.action)
        .where(AuditEvent.action.not_like("login.%"))
        .order_by(AuditEvent.id)
    ).all()


# Who may invite whom


@pytest.mark.parametrize(
    "role", [Role.STAFF, Role.PRINCIPAL, Role.GUARDIAN, Role.STUDENT, Role.OPERATOR]
)
def test_only_admins_may_invite(client, auth, make, org, invitee, role):
    person = make.person(role, None if role == Role.OPERATOR else org, terms_accepted_at=utcnow())
    auth.login(person.email)
    assert client.get("/people/invite").status_code == 403
    token = csrf_token(client.get("/profile").get_data(as_text=True))
    assert (
        client.post(f"/people/{invitee.id}/invite", data={"csrf_token": token}).status_code == 403
    )
    assert tokens() == []


def test_a_person_of_another_organisation_is_not_found(client, auth, make, admin):
    stranger = make.person(Role.GUARDIAN, password=None)
    auth.login(admin.email)
    assert send_invitation(client, stranger).status_code == 404
    token = csrf_token(client.get("/profile").get_data(as_text=True))
    assert client.post("/people/999999/invite", data={"csrf_token": token}).status_code == 404
    assert tokens() == []


def test_people_who_have_a_password_are_not_invited(client, auth, make, org, admin):
    member = make.person(Role.STAFF, org)
    auth.login(admin.email)
    response = send_invitation(client, member)
    assert response.status_code == 303
    assert "Personen kan inte bjudas in." in client.get("/people/invite").get_data(as_text=True)
    assert tokens() == []


# The list


def test_the_list_shows_who_may_be_invited(client, auth, make, org, admin, invitee):
    has_password = make.person(Role.STAFF, org, given_name="Harald")
    no_email = make.person(Role.STUDENT, org, password=None, email=None, given_name="Ingemar")
    inactive = make.person(Role.STAFF, org, password=None, active=False, given_name="Inaktiv")
    elsewhere = make.person(Role.STAFF, password=None, given_name="Annanstans")
    student = make.person(Role.STUDENT, org, password=None, given_name="Elsa")
    auth.login(admin.email)
    page = client.get("/people/invite").get_data(as_text=True)
    assert "Åsa Öberg" in page
    assert "asa.oberg@example.se" in page
    assert student.full_name in page
    for hidden in (has_password, no_email, inactive, elsewhere):
        assert hidden.full_name not in page
    assert "2 personer kan bjudas in." in page
    assert page.count(">Skicka inbjudan") == 2


def test_protected_identity_is_never_shown(client, auth, make, org, admin):
    secret = make.person(
        Role.STUDENT,
        org,
        password=None,
        given_name="Hemliga",
        family_name="Personsson",
        email="hemliga.personsson@example.se",
        protected_identity=True,
    )
    auth.login(admin.email)
    page = client.get("/people/invite").get_data(as_text=True)
    assert "Skyddad identitet" in page
    assert "Hemliga" not in page and "Personsson" not in page and "hemliga" not in page
    response = send_invitation(client, secret)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Inbjudan skickas till personen med skyddad identitet." in page
    assert "Hemliga" not in page
    search = client.get("/people/invite?q=Hemliga").get_data(as_text=True)
    assert "Skyddad identitet" not in search
    assert "Ingen som kan bjudas in matchar sökningen." in search


def test_the_list_can_be_searched_and_paged(client, auth, make, org, admin, invitee):
    for n in range(55):
        make.person(Role.STUDENT, org, password=None, given_name=f"Elev{n:02d}", family_name="Ek")
    auth.login(admin.email)
    first = client.get("/people/invite").get_data(as_text=True)
    assert "Sida 1 av 2" in first
    second = client.get("/people/invite?page=2").get_data(as_text=True)
    assert "Sida 2 av 2" in second
    found = client.get("/people/invite?q=öberg").get_data(as_text=True)
    assert "Åsa Öberg" in found and "Elev" not in found
    assert client.get("/people/invite?q=%25_%5C&page=x").status_code == 200


# The mail and the link


def test_the_invited_person_gets_a_working_link_by_mail(
    client, auth, admin, invitee, run_jobs, mailbox
):
    secret = invite_and_mail(client, auth, admin, invitee, run_jobs, mailbox)

    [mail] = mailbox.received
    assert mail.recipients == ["asa.oberg@example.se"]
    assert mail.message["Subject"] == "Välj ett lösenord till SMS-portalen"
    text = mail.message.get_content()
    assert "Hej Åsa!" in text
    assert "Exempelkommun" in text
    assert "72 timmar" in text
    [token] = tokens()
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in token.token_hash

    page = client.get(f"/set-password/{secret}")
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "no-referrer"
    html = page.get_data(as_text=True)
    assert '<label class="label" for="password">Nytt lösenord</label>' in html
    assert '<label class="label" for="repeat">Upprepa lösenordet</label>' in html
    assert ">Spara lösenord</button>" in html

    response = choose_password(client, secret)
    assert response.status_code == 303
    assert check_password_hash(fresh(invitee).password_hash, NEW_PASSWORD)
    assert fresh(token).used_at is not None
    # Signed in, and the terms come first.
    assert client.get("/").headers["Location"] == "/om-sms-portalen?next=/"
    assert audit_actions() == ["invitation.created", "password.set"]


def test_the_job_is_named_for_the_invitation_and_carries_no_secret(
    client, auth, admin, invitee, app
):
    auth.login(admin.email)
    send_invitation(client, invitee)
    [token] = tokens()
    [job] = get_queue("mail").get_jobs()
    assert job.id == f"invite-{token.id}"
    assert job.args == (token.id,)


def test_the_link_works_once(client, auth, admin, invitee, run_jobs, mailbox):
    secret = invite_and_mail(client, auth, admin, invitee, run_jobs, mailbox)
    assert choose_password(client, secret).status_code == 303
    auth.logout()
    hash_after_first = fresh(invitee).password_hash

    response = client.get(f"/set-password/{secret}")
    assert response.status_code == 410
    assert DEAD_LINK in response.get_data(as_text=True)
    assert fresh(invitee).password_hash == hash_after_first


def test_a_double_submit_sets_the_password_once(client, auth, admin, invitee, run_jobs, mailbox):
    secret = invite_and_mail(client, auth, admin, invitee, run_jobs, mailbox)
    token = csrf_token(client.get(f"/set-password/{secret}").get_data(as_text=True))
    first = {"password": NEW_PASSWORD, "repeat": NEW_PASSWORD, "csrf_token": token}
    second = {"password": "ett annat lösenord", "repeat": "ett annat lösenord", "csrf_token": token}
    before = client.get_cookie("portal_session").value
    assert client.post(f"/set-password/{secret}", data=first).status_code == 303
    # The second click carries the cookie of the page (signing in gave a new session).
    client.set_cookie("portal_session", before)
    assert client.post(f"/set-password/{secret}", data=second).status_code == 410
    assert check_password_hash(fresh(invitee).password_hash, NEW_PASSWORD)
    assert audit_actions().count("password.set") == 1


def test_concurrent_submits_use_the_link_once(app, auth, admin, invitee, run_jobs, mailbox):
    clients = [app.test_client() for _ in range(4)]
    secret = invite_and_mail(clients[0], AuthActions(clients[0]), admin, invitee, run_jobs, mailbox)
    forms = []
    for n, each in enumerate(clients):
        token = csrf_token(each.get(f"/set-password/{secret}").get_data(as_text=True))
        password = f"lösenord nummer {n}"
        forms.append({"password": password, "repeat": password, "csrf_token": token})
    statuses = [None] * len(clients)
    start = threading.Barrier(len(clients))

    def submit(n):
        start.wait()
        statuses[n] = clients[n].post(f"/set-password/{secret}", data=forms[n]).status_code

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [303] + [410] * (len(clients) - 1)
    winner = statuses.index(303)
    assert check_password_hash(fresh(invitee).password_hash, forms[winner]["password"])
    assert audit_actions().count("password.set") == 1


def test_an_expired_link_is_refused(client, auth, admin, invitee, run_jobs, mailbox):
    secret = invite_and_mail(client, auth, admin, invitee, run_jobs, mailbox)
    [token] = tokens()
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get(f"/set-password/{secret}").status_code == 410
    assert choose_password_without_form(client, secret).status_code == 410
    assert fresh(invitee).password_hash is None


def test_a_link_is_valid_for_72_hours(client, auth, admin, invitee):
    auth.login(admin.email)
    send_invitation(client, invitee)
    token = tokens()[0]
    assert token.expires_at - token.created_at == timedelta(hours=72)
    assert token.created_by_id == admin.id


def test_an_unknown_link_is_not_found(client):
    for secret in ("nope", "x" * 500):
        response = client.get(f"/set-password/{secret}")
        assert response.status_code == 404
        assert DEAD_LINK in response.get_data(as_text=True)


def test_a_second_invitation_ends_the_first_link(client, auth, admin, invitee, run_jobs, mailbox):
    first = invite_and_mail(client, auth, admin, invitee, run_jobs, mailbox)
    second = invite_and_mail(client, auth, admin, invitee, run_jobs, mailbox)
    assert first != second
    assert client.get(f"/set-password/{first}").status_code == 410
    assert choose_password(client, second).status_code == 303


def test_two_invitations_before_the_mail_goes_out_send_one_mail(
    client, auth, admin, invitee, run_jobs, mailbox
):
    auth.login(admin.email)
    send_invitation(client, invitee)
    send_invitation(client, invitee)
    run_jobs()
    [secret] = links_in(mailbox)
    assert choose_password(client, secret).status_code == 303


def test_the_list_tells_when_someone_was_invited(client, auth, admin, invitee):
    auth.login(admin.email)
    send_invitation(client, invitee)
    page = client.get("/people/invite").get_data(as_text=True)
    assert "Skickad " in page and "gäller till" in page
    assert ">Skicka ny inbjudan" in page


# The password form


@pytest.mark.parametrize(
    ("password", "repeat", "message"),
    [
        ("", "", "Ange ett nytt lösenord."),
        ("kort", "kort", "Lösenordet måste ha minst 10 tecken."),
        (NEW_PASSWORD, "något annat här", "Lösenorden är inte likadana."),
        ("x" * 201, "x" * 201, "Högst 200 tecken."),
    ],
)
def test_a_bad_password_is_refused_and_the_link_still_works(
    client, auth, admin, invitee, run_jobs, mailbox, password, repeat, message
):
    secret = invite_and_mail(client, auth, admin, invitee, run_jobs, mailbox)
    response = choose_password(client, secret, password, repeat)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert fresh(invitee).password_hash is None
    assert tokens()[0].used_at is None
    assert choose_password(client, secret).status_code == 303


def test_setting_passwords_is_rate_limited(client, auth, admin, invitee, run_jobs, mailbox):
    secret = invite_and_mail(client, auth, admin, invitee, run_jobs, mailbox)
    statuses = [choose_password(client, secret, "kort", "kort").status_code for _ in range(11)]
    assert statuses == [422] * 10 + [429]


def test_an_inactive_person_cannot_use_a_link(client, auth, admin, invitee, run_jobs, mailbox):
    secret = invite_and_mail(client, auth, admin, invitee, run_jobs, mailbox)
    invitee = fresh(invitee)
    invitee.active = False
    db.session.commit()
    assert choose_password(client, secret).status_code == 410
    assert fresh(invitee).password_hash is None


def choose_password_without_form(client, secret):
    token = csrf_token(client.get("/login").get_data(as_text=True))
    return client.post(
        f"/set-password/{secret}",
        data={"password": NEW_PASSWORD, "repeat": NEW_PASSWORD, "csrf_token": token},
    )
