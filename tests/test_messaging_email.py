"""The e-mail channel (issue #6, point 7): what a message's e-mail holds, and sending a
chunk of addresses over one connection to a real local SMTP server."""

import io
import logging

import pytest
from PIL import Image

from portal.extensions import db
from portal.messaging.email import Deferred, DeliveryInterrupted, build_email, deliver_emails
from portal.models import Attachment, Message, Role


def png():
    buffer = io.BytesIO()
    Image.new("RGB", (3, 2), "navy").save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def message(make):
    author = make.person(Role.STAFF, given_name="Åsa", family_name="Lärare")
    message = Message(
        organisation_id=author.organisation_id,
        author_id=author.id,
        subject="Föräldramöte\npå torsdag",
        body="Välkomna <alla> & en var!\nVi ses kl. 18.\n\nHälsningar\nÅsa",
    )
    db.session.add(message)
    db.session.flush()
    db.session.add(
        Attachment(
            organisation_id=author.organisation_id,
            uploaded_by_id=author.id,
            message_id=message.id,
            token="t1",
            filename="klassfoto å.png",
            content_type="image/png",
            size=len(png()),
            data=png(),
        )
    )
    db.session.commit()
    return message


@pytest.fixture
def mailbox(app, smtp_server):
    app.config.update(MAIL_URL=smtp_server.url)
    return smtp_server


def parts(mail):
    return {part.get_content_type(): part for part in mail.walk()}


def test_the_email_has_text_html_and_the_images(app, message):
    mail = build_email(message, "vardnadshavare@example.se")
    assert mail["To"] == "vardnadshavare@example.se"
    assert mail["From"] == app.config["MAIL_SENDER"]
    assert mail["Subject"] == "Föräldramöte på torsdag"
    found = parts(mail)
    text = found["text/plain"].get_content()
    assert text.startswith("Välkomna <alla> & en var!\nVi ses kl. 18.\n\nHälsningar\nÅsa")
    assert "Skickat av Åsa Lärare, " in text
    html = found["text/html"].get_content()
    assert "<p>Välkomna &lt;alla&gt; &amp; en var!<br>\nVi ses kl. 18.</p>" in html
    assert "<p>Hälsningar<br>\nÅsa</p>" in html
    image = found["image/png"]
    assert image.get_filename() == "klassfoto å.png"
    assert image.get_content() == png()


def test_without_a_body_the_heading_is_the_text(app, message):
    message.body = ""
    text = parts(build_email(message, "a@example.se"))["text/plain"].get_content()
    assert text.startswith("Föräldramöte\npå torsdag")


def test_a_protected_sender_is_not_named(app, message):
    message.author.protected_identity = True
    text = parts(build_email(message, "a@example.se"))["text/plain"].get_content()
    assert "Lärare" not in text and f"Skickat från {message.organisation.name}" in text


def test_a_chunk_goes_over_one_connection_one_envelope_each(mailbox, message):
    addresses = ["a@example.se", "b@example.se", "c@example.se"]
    assert deliver_emails(message, addresses) == [None, None, None]
    assert [mail.recipients for mail in mailbox.received] == [[a] for a in addresses]
    assert [mail.message["To"] for mail in mailbox.received] == addresses
    assert len({mail.message["Message-ID"] for mail in mailbox.received}) == 3
    received = parts(mailbox.messages[0])
    assert "Vi ses kl. 18." in received["text/plain"].get_content()
    assert "&lt;alla&gt;" in received["text/html"].get_content()
    assert received["image/png"].get_content() == png()


def test_a_refused_address_fails_alone(mailbox, message):
    mailbox.refuse_recipient("okand@example.se", "550 5.1.1 No such user")
    mailbox.refuse_recipient("full@example.se", "452 4.2.2 Mailbox full")
    results = deliver_emails(message, ["a@example.se", "okand@example.se", "full@example.se"])
    assert results[0] is None
    assert results[1] == "E-postservern tog inte emot meddelandet (550 5.1.1 No such user)."
    assert not isinstance(results[1], Deferred)
    assert isinstance(results[2], Deferred)
    assert results[2] == (
        "E-postservern kunde inte ta emot meddelandet just nu (452 4.2.2 Mailbox full)."
    )
    assert [mail.recipients for mail in mailbox.received] == [["a@example.se"]]


def test_a_refused_message_is_reported_per_address(mailbox, message):
    mailbox.refuse("554 5.7.1 Rejected as spam")
    results = deliver_emails(message, ["a@example.se", "b@example.se"])
    assert results == ["E-postservern tog inte emot meddelandet (554 5.7.1 Rejected as spam)."] * 2


def test_an_unreachable_server_raises(app, message, dead_smtp_url):
    app.config.update(MAIL_URL=dead_smtp_url)
    with pytest.raises(DeliveryInterrupted) as interrupted:
        deliver_emails(message, ["a@example.se"])
    assert interrupted.value.results == []
    assert isinstance(interrupted.value.__cause__, OSError)


def test_a_dropped_connection_keeps_what_was_tried(mailbox, message):
    mailbox.refuse("421 4.3.0 Closing down")
    with pytest.raises(DeliveryInterrupted) as interrupted:
        deliver_emails(message, ["a@example.se", "b@example.se", "c@example.se"])
    (first,) = interrupted.value.results
    assert isinstance(first, Deferred) and "421" in first


def test_without_mail_url_the_mail_is_logged(app, message, caplog):
    caplog.set_level(logging.INFO, logger="portal.messaging.email")
    assert deliver_emails(message, ["a@example.se", "b@example.se"]) == [None, None]
    assert "MAIL_URL is unset" in caplog.text and "a@example.se" not in caplog.text
    assert deliver_emails(message, []) == []
