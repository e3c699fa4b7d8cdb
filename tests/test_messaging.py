"""Compose, review and send (issue #6): the SMS checkbox, the counter, the confirmation's
numbers, confirming exactly once, and who may use the pages."""

import re
import threading

import pytest

from portal.auth.passwords import set_password
from portal.extensions import db
from portal.models import (
    Channel,
    Message,
    MessageStatus,
    OrgKind,
    Recipient,
    Role,
    SmsPackage,
    SmsStatus,
)
from portal.models.base import utcnow
from portal.recipients.frozen import recipient_counts
from tests.conftest import AuthActions, csrf_token
from tests.directory_builders import Directory
from tests.factories import Factory

HTMX = {"HX-Request": "true"}


@pytest.fixture
def d(make):
    return Directory(make)


@pytest.fixture
def school(d):
    return d.school("Norrskolan")


@pytest.fixture
def klass(d, school):
    """Students: one reachable, one without mobile, one who never accepted the terms;
    each with a guardian, the second one's guardian sharing the first one's number."""
    group = d.group(school, "7A")
    first = d.student(group)
    second = d.student(group, mobile=None)
    third = d.student(group, terms_accepted_at=None)
    shared = d.guardian(first).mobile
    d.guardian(second, mobile=shared)
    d.guardian(third)
    return group


@pytest.fixture
def teacher(d, make, school, klass):
    person = make.person(Role.STAFF, d.organisation, mobile=None)
    person.groups.append(klass)
    person.schools.append(school)
    db.session.commit()
    return person


@pytest.fixture
def signed_in(auth, teacher):
    auth.login(teacher.email)
    return teacher


def update(obj, **fields):
    """Change a row the signed-in client may have written since this session's snapshot."""
    db.session.rollback()
    for name, value in fields.items():
        setattr(obj, name, value)
    db.session.commit()


def package(organisation, remaining, sequence=1, size=10_000):
    db.session.rollback()
    db.session.add(
        SmsPackage(
            organisation_id=organisation.id,
            sequence=sequence,
            size=size,
            used=size - remaining,
            price_ore=450_000,
            opened_at=utcnow(),
        )
    )
    db.session.commit()


def text(response):
    return response.get_data(as_text=True).replace("\xa0", " ")


def token(client):
    return csrf_token(client.get("/messages/new").get_data(as_text=True))


def everyone_in(group):
    return {f"group-{group.id}": ["students", "guardians"]}


def form(client, group, subject="Föräldramöte på torsdag", sms=True, **fields):
    data = {"csrf_token": token(client), "subject": subject, "body": "Välkomna!", **fields}
    data.update(everyone_in(group))
    if sms:
        data["sms"] = "y"
    return data


def hidden_fields(html):
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def reviewed(client, group, **kwargs):
    """The confirmation's form fields, ready to post to /messages/send."""
    data = form(client, group, **kwargs)
    response = client.post("/messages/review", data=data, headers=HTMX)
    assert response.status_code == 200, text(response)
    fields = hidden_fields(text(response))
    return {**data, "key": fields["key"], "digest": fields["digest"]}


def messages():
    db.session.rollback()
    return db.session.scalars(db.select(Message)).all()


def confirmed_recipients() -> dict[Channel, int]:
    """Recipients per channel of every message: rows, and frozen lists not yet dispatched."""
    ids = db.session.scalars(db.select(Message.id)).all()
    counts = {}
    for _, channel, _, number in db.session.execute(recipient_counts(ids)):
        counts[Channel(channel)] = counts.get(Channel(channel), 0) + number
    return counts


def recipient_count():
    return sum(confirmed_recipients().values())


# The SMS checkbox


@pytest.mark.parametrize(
    ("status", "offered"),
    [(SmsStatus.ACTIVE, True), (SmsStatus.INACTIVE, False), (SmsStatus.DEACTIVATED, False)],
)
def test_the_sms_checkbox_is_there_only_where_sms_is_active(client, signed_in, d, status, offered):
    update(d.organisation, sms_status=status)
    page = text(client.get("/messages/new"))
    assert ("Skicka även som SMS" in page) is offered
    assert 'name="sms"' in page if offered else 'name="sms"' not in page


def test_a_forged_sms_field_is_refused(client, signed_in, d, klass):
    update(d.organisation, sms_status=SmsStatus.INACTIVE)
    response = client.post("/messages/review", data=form(client, klass))
    assert response.status_code == 422
    assert "SMS är inte aktiverat för din organisation." in text(response)
    assert client.get("/messages/new?sms=1").status_code == 422
    counter = client.post("/messages/counter", data={"csrf_token": token(client), "subject": "x"})
    assert counter.status_code == 404
    sent = client.post("/messages/send", data={**form(client, klass), "key": "k", "digest": "d"})
    assert sent.status_code == 422
    assert "SMS är inte aktiverat för din organisation." in text(sent)
    assert messages() == []


def test_sms_deactivated_after_the_review_is_refused_at_confirm(client, signed_in, d, klass):
    data = reviewed(client, klass)
    update(d.organisation, sms_status=SmsStatus.DEACTIVATED)
    response = client.post("/messages/send", data=data)
    assert response.status_code == 422
    assert "SMS är inte aktiverat för din organisation." in text(response)
    assert messages() == []


@pytest.mark.parametrize("role", [Role.STAFF, Role.PRINCIPAL, Role.ADMIN])
def test_staff_principals_and_admins_may_compose(client, auth, d, school, role):
    sender = d.staff(school, role=role) if role != Role.ADMIN else d.admin()
    set_password(sender, Factory.PASSWORD)
    db.session.commit()
    auth.login(sender.email)
    response = client.get("/messages/new")
    page = text(response)
    assert response.status_code == 200
    assert '<label class="label" for="subject">Rubrik</label>' in page
    assert '<label class="label" for="body">Meddelande</label>' in page
    assert '<label for="sms">Skicka även som SMS</label>' in page
    assert 'type="checkbox" id="school-' in page or 'type="checkbox" id="org-' in page


def test_the_picker_offers_what_the_sender_may_reach(client, signed_in, klass, school):
    page = text(client.get("/messages/new"))
    assert '<legend class="legend">Norrskolan</legend>' in page
    for role in ("students", "guardians", "staff"):
        assert f'name="group-{klass.id}" value="{role}"' in page
    assert f'name="school-{school.id}" value="staff"' in page
    assert f'name="school-{school.id}" value="principals"' not in page
    assert 'name="org"' not in page


def test_sms_view_by_reload_and_by_htmx(client, signed_in, klass):
    page = text(client.get("/messages/new?sms=1"))
    for words in (
        "SMS-text (Rubrik)",
        "Hela SMS-meddelandet skrivs i Rubrik",
        "SMS är ren text – bilder skickas inte",
        'hx-trigger="input changed delay:300ms"',
        "0 SMS per mottagare",
    ):
        assert words in page
    assert "<textarea" in page and 'id="subject"' in page

    data = form(client, klass, subject="Hej")
    fragment = client.post("/messages/new", data=data, headers=HTMX)
    assert fragment.status_code == 200
    assert "<html" not in text(fragment)
    assert "SMS-text (Rubrik)" in text(fragment)
    assert f'name="group-{klass.id}" value="students" checked' in text(fragment)
    data.pop("sms")
    plain = text(client.post("/messages/new", data=data, headers=HTMX))
    assert "SMS-text (Rubrik)" not in plain and ">Rubrik</label>" in plain


# The counter


def count(client, subject, **fields):
    return client.post(
        "/messages/counter",
        data={"csrf_token": token(client), "subject": subject, **fields},
        headers=HTMX,
    )


def test_the_counter_counts_gsm(client, signed_in):
    response = count(client, "Föräldramöte på torsdag")
    assert response.status_code == 200
    assert "23 tecken" in text(response)
    assert "GSM" in text(response) and "1 SMS per mottagare" in text(response)
    assert "Ersätt med vanliga tecken" not in text(response)


def test_the_counter_names_what_forces_unicode(client, signed_in):
    page = text(count(client, "Föräldramöte på torsdag’"))
    assert "Unicode" in page
    assert "’ gör att SMS:et skickas som Unicode, 70 tecken per SMS" in page
    assert "Ersätt med vanliga tecken" in page


def test_a_line_break_counts_once(client, signed_in):
    assert "3 tecken" in text(count(client, "a\r\nb"))


def test_more_than_six_sms_is_a_422(client, signed_in):
    assert "6 SMS per mottagare" in text(count(client, "a" * 918))
    response = count(client, "a" * 919)
    assert response.status_code == 422
    assert "högst 6 SMS" in text(response)


def test_review_refuses_more_than_six_sms_at_the_field(client, signed_in, klass):
    response = client.post("/messages/review", data=form(client, klass, subject="a" * 919))
    assert response.status_code == 422
    assert 'id="subject-error"' in text(response)
    assert "högst 6 SMS" in text(response)


def test_replace_gives_gsm_text(client, signed_in):
    response = count(client, "Möte – ta med “kaffe”…", replace="1")
    page = text(response)
    assert response.status_code == 200
    assert 'id="sms-text"' in page
    assert "Möte - ta med &#34;kaffe&#34;...</textarea>" in page
    assert "GSM" in page and "Ersätt med vanliga tecken" not in page


def test_replace_without_javascript_gives_the_page(client, signed_in):
    response = client.post(
        "/messages/counter",
        data={"csrf_token": token(client), "subject": "Hej ’du’", "sms": "y", "replace": "1"},
    )
    assert "<html" in text(response) and "Hej &#39;du&#39;</textarea>" in text(response)


# The confirmation


def test_the_confirmation_counts_against_the_directory(client, signed_in, d, klass):
    package(d.organisation, remaining=500)
    response = client.post(
        "/messages/review", data=form(client, klass, subject="a" * 200), headers=HTMX
    )
    page = text(response)
    assert response.status_code == 200
    assert "<html" not in page
    assert re.search(r'id="confirm-email">5 mottagare<', page)
    assert "3 mottagare × 2 SMS = 6 SMS" in page
    left_out_email = page.split('id="left-out-email"')[1].split("</ul>")[0]
    assert "Har inte loggat in och godkänt villkoren: 1" in left_out_email
    left_out_sms = page.split('id="left-out-sms"')[1].split("</ul>")[0]
    for reason in (
        "Har inte loggat in och godkänt villkoren: 1",
        "Saknar mobilnummer: 1",
        "Samma mobilnummer som en annan mottagare: 1",
    ):
        assert reason in left_out_sms
    assert "Nuvarande paket #1: 500 av 10 000 SMS kvar" in page
    assert "nytt paket faktureras" not in page
    assert (
        f"Kostnaden för SMS debiteras {d.organisation.name} (kommunen). "
        "Ingen kostnad tas ut av personal, elever eller vårdnadshavare." in page
    )
    assert '<button class="button" type="submit">Bekräfta och skicka</button>' in page
    assert 'hx-target="#compose">Avbryt</button>' in page


def test_the_confirmation_says_when_a_new_package_is_invoiced(client, signed_in, d, klass):
    update(d.organisation, kind=OrgKind.FRISKOLA)
    package(d.organisation, remaining=5)
    page = text(client.post("/messages/review", data=form(client, klass, subject="a" * 200)))
    assert "Nuvarande paket #1: 5 av 10 000 SMS kvar" in page
    assert (
        f"Utskicket påbörjar paket #2, som faktureras {d.organisation.name} – "
        "nytt paket faktureras." in page
    )
    assert (
        f"Kostnaden för SMS debiteras {d.organisation.name} (friskolan). "
        "Ingen kostnad tas ut av personal, elever eller vårdnadshavare." in page
    )


def test_without_sms_only_email_is_reviewed(client, signed_in, d, klass):
    page = text(client.post("/messages/review", data=form(client, klass, sms=False)))
    assert re.search(r'id="confirm-email">5 mottagare<', page)
    assert "confirm-sms" not in page and "Kostnaden för SMS" not in page


def test_a_group_out_of_reach_is_a_404(client, signed_in, d, make, school):
    db.session.rollback()
    other = d.group(school, "9C")
    elsewhere = Directory(make).school_class(Directory(make).school(), students=1)
    for group in (other, elsewhere):
        assert client.post("/messages/review", data=form(client, group)).status_code == 404
    assert messages() == []


def test_nothing_picked_is_a_422(client, signed_in):
    data = {"csrf_token": token(client), "subject": "Hej"}
    response = client.post("/messages/review", data=data)
    assert response.status_code == 422
    assert "Välj minst en mottagargrupp." in text(response)


def test_avbryt_returns_to_the_editor_with_everything_kept(client, signed_in, klass):
    data = reviewed(client, klass, subject="Rad ett\nrad två", body="Ta med\nmatsäck.")
    response = client.post("/messages/new", data=data, headers=HTMX)
    page = text(response)
    assert response.status_code == 200 and 'id="confirm-title"' not in page
    assert "Rad ett\nrad två</textarea>" in page
    assert "Ta med\nmatsäck.</textarea>" in page
    assert f'name="group-{klass.id}" value="guardians" checked' in page
    assert 'name="sms" value="y" checked' in page


# Confirming


def test_confirming_creates_a_queued_message_with_frozen_recipients(client, signed_in, klass):
    data = reviewed(client, klass)
    response = client.post("/messages/send", data=data)
    assert response.status_code == 303
    (message,) = messages()
    assert response.headers["Location"] == f"/messages/{message.id}"
    assert message.status == MessageStatus.QUEUED and message.send_sms
    assert message.idempotency_key == data["key"]
    assert confirmed_recipients() == {Channel.EMAIL: 5, Channel.SMS: 3}
    assert db.session.scalar(db.select(db.func.count()).select_from(Recipient)) == 0
    assert message.frozen_recipients is not None  # the dispatch makes the rows

    page = text(client.get(response.headers["Location"]))
    assert "Köad" in page and "Föräldramöte på torsdag" in page
    assert 'id="total-sms">3</td>' in page and 'id="count-sms-pending">3</td>' in page
    assert "Föräldramöte på torsdag" in text(client.get("/messages"))


def test_browser_line_breaks_are_one_lf_from_review_to_the_message(client, signed_in, klass):
    """A browser submits every line break as CRLF, also those in the confirmation's
    hidden fields: each counts as one septet, the digest still matches and the message
    keeps LF."""
    data = form(client, klass, subject="a" * 79 + "\r\n" + "b" * 80, body="Hej\r\npå dig")
    page = text(client.post("/messages/review", data=data, headers=HTMX))
    assert "3 mottagare × 1 SMS = 3 SMS" in page
    shown = hidden_fields(page)
    assert shown["subject"] == data["subject"].replace("\r\n", "\n")
    confirm = {**data, "key": shown["key"], "digest": shown["digest"]}  # CRLF, as posted
    assert client.post("/messages/send", data=confirm).status_code == 303
    (message,) = messages()
    assert (message.subject, message.body) == ("a" * 79 + "\n" + "b" * 80, "Hej\npå dig")


def test_htmx_confirm_redirects_the_browser(client, signed_in, klass):
    response = client.post("/messages/send", data=reviewed(client, klass), headers=HTMX)
    assert response.status_code == 204
    (message,) = messages()
    assert response.headers["HX-Redirect"] == f"/messages/{message.id}"


def test_a_double_confirm_sends_once(client, signed_in, klass):
    data = reviewed(client, klass)
    first = client.post("/messages/send", data=data)
    second = client.post("/messages/send", data=data)
    assert first.headers["Location"] == second.headers["Location"]
    assert len(messages()) == 1
    assert recipient_count() == 8


def test_two_confirms_at_once_send_once(app, client, signed_in, klass, teacher):
    data = reviewed(client, klass)
    clients = [app.test_client() for _ in range(2)]
    for other in clients:
        AuthActions(other).login(teacher.email)
    payloads = [{**data, "csrf_token": token(other)} for other in clients]
    answers, barrier = [], threading.Barrier(2)

    def confirm(other, payload):
        barrier.wait()
        answers.append(other.post("/messages/send", data=payload))

    pairs = zip(clients, payloads, strict=True)
    threads = [threading.Thread(target=confirm, args=pair) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [answer.status_code for answer in answers] == [303, 303]
    assert answers[0].headers["Location"] == answers[1].headers["Location"]
    assert len(messages()) == 1
    assert recipient_count() == 8


@pytest.mark.parametrize(
    "change",
    [
        {"subject": "Något annat"},
        {"body": "Annan text"},
        {"sms": None},
        {"digest": "0" * 64},
        {"key": "another-key"},
    ],
    ids=["subject", "body", "sms", "digest", "key"],
)
def test_a_confirm_of_something_else_is_refused(client, signed_in, klass, change):
    data = {**reviewed(client, klass), **change}
    data = {name: value for name, value in data.items() if value is not None}
    response = client.post("/messages/send", data=data)
    assert response.status_code == 422
    assert "Uppgifterna har ändrats – granska igen." in text(response)
    assert messages() == []


def test_a_changed_selection_is_refused(client, signed_in, klass, school, d):
    data = reviewed(client, klass)
    data[f"school-{school.id}"] = "staff"
    assert client.post("/messages/send", data=data).status_code == 422
    assert messages() == []


def test_a_changed_directory_gets_a_fresh_confirmation(client, signed_in, d, klass):
    data = reviewed(client, klass)
    db.session.rollback()
    d.student(klass)
    response = client.post("/messages/send", data=data)
    page = text(response)
    assert response.status_code == 422
    assert "Uppgifterna har ändrats – granska igen." in page
    assert re.search(r'id="confirm-email">6 mottagare<', page)
    assert messages() == []
    fresh = {**data, **{k: v for k, v in hidden_fields(page).items() if k in ("key", "digest")}}
    assert client.post("/messages/send", data=fresh).status_code == 303


# Access


PAGES = [
    ("get", "/messages"),
    ("get", "/messages/new"),
    ("post", "/messages/counter"),
    ("post", "/messages/review"),
    ("post", "/messages/send"),
    ("get", "/messages/1"),
]


@pytest.mark.parametrize(("method", "path"), PAGES)
def test_signed_out_visitors_are_sent_to_login(client, method, path):
    login = client.get("/login")
    response = getattr(client, method)(path, data={"csrf_token": csrf_token(text(login))})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("role", [Role.STUDENT, Role.GUARDIAN, Role.OPERATOR])
@pytest.mark.parametrize(("method", "path"), PAGES)
def test_recipients_and_operators_may_not_send(client, auth, make, d, role, method, path):
    person = make.person(role, None if role == Role.OPERATOR else d.organisation)
    auth.login(person.email)
    data = {"csrf_token": csrf_token(text(client.get("/")))}
    assert getattr(client, method)(path, data=data).status_code == 403


def test_another_organisations_message_is_a_404(client, auth, signed_in, klass, make):
    data = reviewed(client, klass)
    location = client.post("/messages/send", data=data).headers["Location"]
    db.session.rollback()
    stranger = make.person(Role.ADMIN)
    auth.logout()
    auth.login(stranger.email)
    assert client.get(location).status_code == 404
    assert "Föräldramöte" not in text(client.get("/messages"))


def test_staff_see_their_own_messages_and_admins_all(client, auth, signed_in, klass, d, make):
    location = client.post("/messages/send", data=reviewed(client, klass)).headers["Location"]
    db.session.rollback()
    colleague = make.person(Role.STAFF, d.organisation)
    admin = make.person(Role.ADMIN, d.organisation)
    auth.logout()
    auth.login(colleague.email)
    assert client.get(location).status_code == 404
    assert "Föräldramöte" not in text(client.get("/messages"))
    auth.logout()
    auth.login(admin.email)
    assert client.get(location).status_code == 200
    assert "Föräldramöte" in text(client.get("/messages"))


@pytest.mark.parametrize(
    "fields",
    [
        {"group-abc": "students"},
        {"group-1": "teachers"},
        {"org-9": "staff"},
        {"subject": "Hej\x00"},
        {"subject": "x" * 1001},
    ],
    ids=["bad-key", "bad-role", "bad-org", "control-character", "too-long"],
)
def test_hostile_input_gets_a_422(client, signed_in, klass, fields):
    data = {**form(client, klass, sms=False), **fields}
    response = client.post("/messages/review", data=data)
    assert response.status_code == 422
    assert "Det finns fel i formuläret" in text(response)
    data.update(key="k", digest="d")
    assert client.post("/messages/send", data=data).status_code == 422
    assert messages() == []
