"""The messages pages (issue #6, point 6): progress per channel that polls itself until
the message is done, the recipients with Swedish statuses and reasons (protected
identities masked), "Avbryt utskick", and the list of messages."""

import re
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import event

from portal.audit.labels import action_label
from portal.extensions import db
from portal.messaging import views
from portal.messaging.cancelling import CannotCancel, cancel_message
from portal.models import (
    AuditEvent,
    Channel,
    Message,
    MessageStatus,
    Recipient,
    RecipientStatus,
    Role,
)
from tests.conftest import csrf_token
from tests.directory_builders import Directory

HTMX = {"HX-Request": "true"}
E, S = Channel.EMAIL, Channel.SMS
P, C, SENT, DLV, F, X = (
    RecipientStatus.PENDING,
    RecipientStatus.CLAIMED,
    RecipientStatus.SENT,
    RecipientStatus.DELIVERED,
    RecipientStatus.FAILED,
    RecipientStatus.CANCELLED,
)
CREATED = datetime(2026, 3, 2, 8, 5, tzinfo=UTC)  # 09:05 in Stockholm


@pytest.fixture
def d(make):
    return Directory(make)


@pytest.fixture
def teacher(d, make):
    return make.person(Role.STAFF, d.organisation)


@pytest.fixture
def signed_in(auth, teacher):
    auth.login(teacher.email)
    return teacher


def message_with(d, author, rows, status=MessageStatus.SENDING, subject="Föräldramöte"):
    """A message of `author` with one recipient per (channel, status[, error, fields])."""
    db.session.rollback()
    message = Message(
        organisation_id=author.organisation_id,
        author_id=author.id,
        subject=subject,
        body="Välkomna!",
        send_sms=any(row[0] == S for row in rows),
        status=status,
        created_at=CREATED,
    )
    db.session.add(message)
    db.session.flush()
    for channel, state, *rest in rows:
        error = rest[0] if rest else None
        person = d.student(**(rest[1] if len(rest) > 1 else {}))
        address = person.mobile if channel == S else person.email
        db.session.add(
            Recipient(
                message_id=message.id,
                person_id=person.id,
                channel=channel,
                address=address,
                status=state,
                error=error,
            )
        )
    db.session.commit()
    return message


def text(response):
    return response.get_data(as_text=True).replace("\xa0", " ")


def token(client):
    return csrf_token(text(client.get("/messages")))


def statuses(message):
    db.session.rollback()
    return sorted(
        (r.channel, r.status)
        for r in db.session.scalars(db.select(Recipient).where(Recipient.message_id == message.id))
    )


def cancelled_events():
    return db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "message.cancelled")
    ).all()


# Progress


def test_the_page_counts_per_channel_and_polls_while_sending(client, signed_in, d):
    rows = [(E, SENT), (E, SENT), (E, F, "Fel"), (E, P), (S, DLV), (S, C)]
    message = message_with(d, signed_in, rows)
    page = text(client.get(f"/messages/{message.id}"))
    assert '<strong id="message-status" class="tag tag-message-sending">Skickas</strong>' in page
    assert 'id="count-email-sent">2</td>' in page and 'id="count-email-failed">1</td>' in page
    assert 'id="count-sms-delivered">1</td>' in page and 'id="count-sms-claimed">1</td>' in page
    assert 'id="total-email">4</td>' in page and 'id="total-sms">2</td>' in page
    assert '<progress id="bar-email" max="4" value="3">75 %</progress>' in page
    assert "E-post: 3 av 4 klara" in page and "SMS: 1 av 2 klara" in page
    assert f'hx-get="/messages/{message.id}/progress" hx-trigger="load delay:2s"' in page
    assert "Avbryt utskick" in page
    assert "<script>" not in page and "style=" not in page


def test_the_progress_panel_replaces_itself_until_done(client, signed_in, d):
    message = message_with(d, signed_in, [(E, P)], status=MessageStatus.QUEUED)
    url = f"/messages/{message.id}/progress"
    fragment = text(client.get(url, headers=HTMX))
    assert "<html" not in fragment and 'id="progress"' in fragment
    assert 'hx-swap="outerHTML"' in fragment and "Köad" in fragment
    assert "hx-swap-oob" not in fragment

    db.session.rollback()
    message.status = MessageStatus.DONE
    db.session.query(Recipient).update({Recipient.status: SENT})
    db.session.commit()
    done = text(client.get(url, headers=HTMX))
    assert "hx-get" not in done and "hx-trigger" not in done and "Klar" in done
    assert '<div id="cancel-message" hx-swap-oob="true"></div>' in done
    assert '<progress id="bar-email" max="1" value="1">100 %</progress>' in done

    page = client.get(url)
    assert page.status_code == 302 and page.headers["Location"] == f"/messages/{message.id}"


def test_a_done_message_neither_polls_nor_offers_cancel(client, signed_in, d):
    message = message_with(d, signed_in, [(E, SENT)], status=MessageStatus.DONE)
    page = text(client.get(f"/messages/{message.id}"))
    assert "hx-trigger" not in page and "Avbryt utskick" not in page and ">Klar<" in page


# Recipients


def test_recipients_show_swedish_statuses_and_reasons(client, signed_in, d):
    message = message_with(
        d,
        signed_in,
        [
            (S, SENT, None, {"given_name": "Vera", "family_name": "Öst"}),
            (S, F, "Numret finns inte.", {"given_name": "Olle", "family_name": "Berg"}),
            (E, X, None, {"given_name": "Kim", "email": "kim@example.se"}),
            (S, P, None, {"protected_identity": True, "given_name": "Hemlig"}),
            (E, DLV, None, {"protected_identity": True, "email": "hemlig@example.se"}),
        ],
    )
    page = text(client.get(f"/messages/{message.id}"))
    table = page.split('class="recipient-table"')[1]
    assert table.index("Olle Berg") < table.index("Vera Öst"), "failed ones come first"
    assert "Misslyckad" in table and "Numret finns inte." in table
    for label in ("Skickad", "Avbruten", "Köad", "Levererad"):
        assert f">{label}</strong>" in table
    assert "kim@example.se" in table
    assert table.count("Skyddad identitet") == 2
    assert "Hemlig" not in page and "hemlig@example.se" not in page
    assert "Dolt nummer" in table and "Dold adress" in table
    numbers = re.findall(r'class="recipient-address">([^<]+)<', table)
    assert any(number.startswith("+46*******") for number in numbers)
    assert not re.search(r"\+4670\d{7}", page), "numbers are masked"


def test_recipients_are_paginated(client, signed_in, d, monkeypatch):
    monkeypatch.setattr(views, "ROWS_PER_PAGE", 2)
    message = message_with(d, signed_in, [(E, SENT)] * 5)
    first = text(client.get(f"/messages/{message.id}"))
    assert "Sida 1 av 3" in first
    assert f'href="/messages/{message.id}?page=2#rows"' in first
    last = text(client.get(f"/messages/{message.id}?page=3"))
    assert last.split('class="recipient-table"')[1].count("<tr>") == 2  # header + one


# Cancelling


def test_cancel_stops_the_pending_and_leaves_the_rest(client, signed_in, d):
    rows = [(E, P), (E, P), (E, SENT), (S, C), (S, DLV), (S, P)]
    message = message_with(d, signed_in, rows)
    url = f"/messages/{message.id}/cancel"
    response = client.post(url, data={"csrf_token": token(client)})
    assert response.status_code == 303 and response.headers["Location"] == f"/messages/{message.id}"
    assert statuses(message) == sorted([(E, X), (E, X), (E, SENT), (S, C), (S, DLV), (S, X)])
    db.session.refresh(message)
    assert message.status == MessageStatus.CANCELLED
    assert message.cancelled_by_id == signed_in.id and message.cancelled_at is not None
    (audit,) = cancelled_events()
    assert (audit.actor_id, audit.subject_id, audit.details) == (
        signed_in.id,
        message.id,
        {"count": 3},
    )
    page = text(client.get(response.headers["Location"]))
    assert "Utskicket är avbrutet. 3 mottagare får inte meddelandet." in page
    assert ">Avbruten</strong>" in page and "Avbryt utskick" not in page
    assert 'id="cancelled-at"' in page
    assert 'id="count-email-cancelled">2</td>' in page and 'id="count-sms-cancelled">1</td>' in page


def test_cancel_by_htmx_redirects_the_browser(client, signed_in, d):
    message = message_with(d, signed_in, [(E, P)], status=MessageStatus.QUEUED)
    page = text(client.get(f"/messages/{message.id}"))
    assert 'hx-confirm="Vill du avbryta utskicket?' in page
    response = client.post(
        f"/messages/{message.id}/cancel", headers={**HTMX, "X-CSRFToken": token(client)}
    )
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == f"/messages/{message.id}"
    assert statuses(message) == [(E, X)]


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (MessageStatus.DONE, "Utskicket är redan klart och kan inte avbrytas."),
        (MessageStatus.CANCELLED, "Utskicket är redan avbrutet."),
    ],
)
def test_a_finished_message_cannot_be_cancelled(client, signed_in, d, status, words):
    message = message_with(d, signed_in, [(E, SENT), (E, P)], status=status)
    response = client.post(f"/messages/{message.id}/cancel", data={"csrf_token": token(client)})
    assert response.status_code == 409
    assert words in text(response)
    assert statuses(message) == [(E, P), (E, SENT)]
    assert cancelled_events() == []


def test_cancel_needs_the_csrf_token(client, signed_in, d):
    message = message_with(d, signed_in, [(E, P)])
    assert client.post(f"/messages/{message.id}/cancel").status_code == 400
    assert statuses(message) == [(E, P)]


def test_cancel_message_refuses_twice(app, d, teacher):
    message = message_with(d, teacher, [(E, P)], status=MessageStatus.QUEUED)
    assert cancel_message(message, teacher) == 1
    with pytest.raises(CannotCancel, match="redan avbrutet"):
        cancel_message(message, teacher)
    assert action_label("message.cancelled") == "Utskick avbrutet"


# Who may see and cancel


def paths(message):
    return [
        ("get", f"/messages/{message.id}"),
        ("get", f"/messages/{message.id}/progress"),
        ("post", f"/messages/{message.id}/cancel"),
    ]


def test_another_organisations_message_is_a_404(client, auth, d, teacher, make):
    message = message_with(d, teacher, [(E, P)])
    stranger = make.person(Role.ADMIN)
    auth.login(stranger.email)
    for method, path in paths(message):
        response = getattr(client, method)(path, data={"csrf_token": token(client)}, headers=HTMX)
        assert response.status_code == 404, path
    assert statuses(message) == [(E, P)]


def test_a_colleague_gets_a_404_and_an_admin_may_cancel(client, auth, d, teacher, make):
    message = message_with(d, teacher, [(E, P)])
    colleague = make.person(Role.STAFF, d.organisation)
    auth.login(colleague.email)
    for method, path in paths(message):
        assert getattr(client, method)(path, data={"csrf_token": token(client)}).status_code == 404
    assert statuses(message) == [(E, P)]
    auth.logout()
    db.session.rollback()
    auth.login(make.person(Role.ADMIN, d.organisation).email)
    response = client.post(f"/messages/{message.id}/cancel", data={"csrf_token": token(client)})
    assert response.status_code == 303
    assert statuses(message) == [(E, X)]


@pytest.mark.parametrize("role", [Role.STUDENT, Role.GUARDIAN])
def test_recipients_may_not_look(client, auth, d, teacher, make, role):
    message = message_with(d, teacher, [(E, P)])
    auth.login(make.person(role, d.organisation).email)
    page = text(client.get("/"))
    for method, path in paths(message):
        response = getattr(client, method)(path, data={"csrf_token": csrf_token(page)})
        assert response.status_code == 403


# The list


@contextmanager
def counted_statements():
    statements = []

    def count(*_args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_the_list_shows_status_channels_and_counts(client, signed_in, d):
    message_with(d, signed_in, [(E, SENT), (E, F), (S, P)], subject="Utflykt")
    message_with(d, signed_in, [(E, SENT)], status=MessageStatus.DONE, subject="Lov")
    page = text(client.get("/messages"))
    assert "2026-03-02 09:05" in page
    first = page.split("Utflykt")[1].split("</tr>")[0]
    assert "E-post: 2" in first and "(1 misslyckad)" in first and "SMS: 1" in first
    assert ">Skickas</strong>" in first and "66 % klart" in first
    second = page.split(">Lov<")[1].split("</tr>")[0]
    assert ">Klar</strong>" in second and "SMS" not in second and "klart" not in second
    assert "Avsändare" not in page, "staff see only their own messages"


def test_the_list_costs_the_same_queries_for_more_messages(client, signed_in, d):
    message_with(d, signed_in, [(E, SENT), (S, P)])
    client.get("/messages")
    with counted_statements() as few:
        client.get("/messages")
    for _ in range(4):
        message_with(d, signed_in, [(E, SENT), (S, P)])
    with counted_statements() as many:
        client.get("/messages")
    assert len(many) == len(few)
