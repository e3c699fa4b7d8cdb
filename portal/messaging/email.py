"""The e-mail channel of a message: plain text with an HTML alternative and the images
attached, sent to a chunk of addresses over one SMTP connection.

`deliver_emails` sends one envelope per address, so a refused address fails alone.
Its results line up with the addresses: None when the server accepted the mail, or a
Swedish reason when it refused it (a `Deferred` reason when the refusal was temporary,
a 4xx reply: try that address again later). When the connection itself fails it raises
`DeliveryInterrupted`, which carries the results of the addresses tried before.
"""

import logging
import re
import smtplib

from flask import current_app, render_template
from flask_babel import gettext as _

from portal.mail import compose, connection, new_message_id

logger = logging.getLogger(__name__)

REPLY_MAX = 200
PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


class Deferred(str):
    """A temporary refusal (4xx): the address may accept the mail later."""


class DeliveryInterrupted(Exception):
    """The mail server could not be reached or dropped the connection. `results` holds
    the outcomes of the first len(results) addresses; the others were not tried."""

    def __init__(self, results: list[str | None]):
        super().__init__(f"mail delivery interrupted after {len(results)} addresses")
        self.results = results


def build_email(message, address: str):
    """The e-mail of `message` to `address` (an email.message.EmailMessage)."""
    text = message.body or message.subject
    subject = " ".join(message.subject.split())
    context = {
        "subject": subject,
        "text": text,
        "paragraphs": [part.split("\n") for part in PARAGRAPH_BREAK.split(text.strip())],
        "signature": _signature(message),
    }
    mail = compose(address, subject, render_template("mail/message.txt", **context))
    mail.add_alternative(
        render_template("mail/message.html", **context),
        subtype="html",
        charset="utf-8",
        cte="quoted-printable",
    )
    for attachment in message.attachments:
        maintype, subtype = attachment.content_type.split("/")
        mail.add_attachment(
            attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return mail


def deliver_emails(message, addresses: list[str]) -> list[str | None]:
    """Send `message` to each address, one envelope each, over one connection to
    MAIL_URL (logged instead when MAIL_URL is unset). Per address: None (accepted) or
    a Swedish reason (refused; `Deferred` when temporary). DeliveryInterrupted when
    the connection fails."""
    if not addresses:
        return []
    if not current_app.config["MAIL_URL"]:
        logger.info(
            "MAIL_URL is unset; not sending message %d (%r) to %d addresses",
            message.id,
            message.subject,
            len(addresses),
        )
        return [None] * len(addresses)
    mail = build_email(message, addresses[0])
    results = []
    try:
        with connection() as client:
            for address in addresses:
                results.append(_send(client, mail, address))
    except (smtplib.SMTPException, OSError) as error:
        if len(results) < len(addresses):
            raise DeliveryInterrupted(results) from error
    logger.info("Sent message %d to %d addresses", message.id, results.count(None))
    return results


def _signature(message):
    """Who sent it (plain Swedish, like the portal's other mail); a sender with
    protected identity is not named."""
    organisation = message.organisation.name
    if message.author.protected_identity:
        return f"Skickat från {organisation} via SMS-portalen."
    return f"Skickat av {message.author.full_name}, {organisation}, via SMS-portalen."


def _send(client, mail, address):
    """Send `mail` to `address` alone; None, or the reason the server refused it."""
    mail.replace_header("To", address)
    mail.replace_header("Message-ID", new_message_id())
    try:
        client.send_message(mail, to_addrs=[address])
    except smtplib.SMTPRecipientsRefused as refused:
        return _refusal(*refused.recipients[address])
    except smtplib.SMTPDataError as refused:
        return _refusal(refused.smtp_code, refused.smtp_error)
    except smtplib.SMTPNotSupportedError:
        return _("E-postservern tar inte emot adresser med de här tecknen.")
    return None


def _refusal(code: int, reply: bytes | str) -> str:
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", errors="replace")
    said = f"{code} {' '.join(reply.split())}"[:REPLY_MAX]
    if 400 <= code < 500:
        return Deferred(
            _("E-postservern kunde inte ta emot meddelandet just nu (%(reply)s).", reply=said)
        )
    return _("E-postservern tog inte emot meddelandet (%(reply)s).", reply=said)
