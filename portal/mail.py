"""E-mail: the one place that composes and sends it.

With MAIL_URL unset (development, tests) a message is logged instead of sent.
Otherwise MAIL_URL names the server: `smtp://[user:pass@]host[:port]` (port 25,
STARTTLS when the server offers it) or `smtps://[user:pass@]host[:port]`
(implicit TLS, port 465). Errors are never swallowed: a mail job that cannot
deliver fails, and RQ retries it.
"""

import logging
import smtplib
import ssl
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from urllib.parse import unquote, urlsplit

from flask import current_app

from portal.config import ConfigError
from portal.extensions import db
from portal.models import Person, Role
from portal.models.base import utcnow

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10
DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


def compose(to, subject, text):
    """A UTF-8 plain-text message from MAIL_SENDER to `to` (an address or a list of them)."""
    sender = current_app.config["MAIL_SENDER"]
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to if isinstance(to, str) else ", ".join(to)
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = new_message_id()
    message.set_content(text, charset="utf-8", cte="quoted-printable")
    return message


def deliver(message):
    """Send `message` through MAIL_URL, or log it when MAIL_URL is unset."""
    url = current_app.config["MAIL_URL"]
    if not url:
        logger.info(
            "MAIL_URL is unset; not sending mail to %s: %s\n\n%s",
            message["To"],
            message["Subject"],
            message.get_content(),
        )
        return
    with connection() as client:
        refused = client.send_message(message)
    if refused:
        logger.warning("The mail server refused %s for %r", sorted(refused), message["Subject"])
    logger.info("Sent mail to %s: %s", message["To"], message["Subject"])


@contextmanager
def connection():
    """An SMTP client connected (and logged in) to the server MAIL_URL names, for
    sending several messages; it says QUIT when the block ends."""
    parts = urlsplit(current_app.config["MAIL_URL"])
    with _connect(parts) as client:
        _secure_and_log_in(client, parts)
        yield client


def new_message_id():
    """A fresh Message-ID in MAIL_SENDER's domain."""
    sender = current_app.config["MAIL_SENDER"]
    return make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2])


def public_url(path):
    """An absolute link to `path` for e-mail, where there is no request to build it from."""
    return current_app.config["PUBLIC_BASE_URL"] + path


def _connect(url):
    """An SMTP client connected to the server MAIL_URL names."""
    if url.scheme not in DEFAULT_PORTS:
        raise ConfigError(f"MAIL_URL must start with smtp:// or smtps://, not {url.scheme}://.")
    if not url.hostname:
        raise ConfigError("MAIL_URL names no mail server host.")
    port = url.port or DEFAULT_PORTS[url.scheme]
    if url.scheme == "smtps":
        context = ssl.create_default_context()
        return smtplib.SMTP_SSL(url.hostname, port, timeout=TIMEOUT_SECONDS, context=context)
    return smtplib.SMTP(url.hostname, port, timeout=TIMEOUT_SECONDS)


def _secure_and_log_in(client, url):
    """STARTTLS on plain SMTP when the server offers it; then log in if MAIL_URL has a user."""
    client.ehlo()
    if url.scheme == "smtp" and client.has_extn("starttls"):
        client.starttls(context=ssl.create_default_context())
        client.ehlo()
    if url.username:
        client.login(unquote(url.username), unquote(url.password or ""))


def operator_addresses():
    """The e-mail addresses of every active operator, for notices about orders and billing."""
    return db.session.scalars(
        db.select(Person.email)
        .where(Person.role == Role.OPERATOR, Person.active.is_(True), Person.email.is_not(None))
        .order_by(Person.email)
    ).all()
