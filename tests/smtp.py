"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, keeping every mail it accepts.

Fixtures: `smtp_server` (anyone may send), `smtp_server_with_login` (AUTH over
plain SMTP for the one user LOGIN_USER / LOGIN_PASSWORD), `smtp_server_with_starttls`
and `smtps_server` (TLS with a throwaway certificate that this process trusts) and
`dead_smtp_url` (a port where every connection is refused).
"""

import email
import email.policy
import socket
import ssl
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

HOST = "127.0.0.1"
LOGIN_USER = "portal"
LOGIN_PASSWORD = "p@ss"


@dataclass
class Received:
    """One mail as the server got it: envelope, parsed message, login and whether over TLS."""

    sender: str
    recipients: list[str]
    message: EmailMessage
    login: str | None
    tls: bool


class Inbox:
    """An aiosmtpd handler that keeps what it accepts, or answers DATA with `refusal`
    and RCPT TO with the reply `refused_recipients` names for the address."""

    def __init__(self):
        self.received = []
        self.refusal = None
        self.refused_recipients = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused_recipients:
            return self.refused_recipients[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refusal:
            return self.refusal
        self.received.append(
            Received(
                sender=envelope.mail_from,
                recipients=list(envelope.rcpt_tos),
                message=email.message_from_bytes(envelope.content, policy=email.policy.default),
                login=session.login_data.decode() if session.authenticated else None,
                tls=server.transport.get_extra_info("cipher") is not None,
            )
        )
        return "250 OK"


class SmtpServer:
    """A running server: `.url` for MAIL_URL; `.received` and `.messages` for assertions."""

    def __init__(self, inbox, scheme, port):
        self.inbox = inbox
        self.port = port
        self.url = f"{scheme}://{HOST}:{port}"

    @property
    def received(self):
        return self.inbox.received

    @property
    def messages(self):
        return [mail.message for mail in self.inbox.received]

    def refuse(self, reply):
        """Answer every later DATA command with `reply`, e.g. "554 5.7.1 Rejected"."""
        self.inbox.refusal = reply

    def refuse_recipient(self, address, reply):
        """Answer RCPT TO `address` with `reply`, e.g. "550 5.1.1 No such user"."""
        self.inbox.refused_recipients[address] = reply


def accept_one_user(server, session, envelope, mechanism, auth_data):
    valid = auth_data == LoginPassword(LOGIN_USER.encode(), LOGIN_PASSWORD.encode())
    return AuthResult(success=valid, handled=False, auth_data=auth_data)


@contextmanager
def running(scheme="smtp", **options):
    """An aiosmtpd server on a free port for the duration of the block."""
    inbox = Inbox()
    controller = Controller(inbox, hostname=HOST, port=_free_port(), **options)
    controller.start()
    try:
        yield SmtpServer(inbox, scheme, controller.port)
    finally:
        controller.stop()


def _free_port():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    with running() as server:
        yield server


@pytest.fixture
def smtp_server_with_login():
    with running(authenticator=accept_one_user, auth_require_tls=False) as server:
        yield server


@pytest.fixture
def server_tls_context(tmp_path, monkeypatch):
    """A server context with a fresh self-signed certificate for 127.0.0.1.

    SSL_CERT_FILE makes the default client context of this process trust it, so the
    code under test verifies the certificate as it would in production.
    """
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-nodes", "-days", "1"),
            *("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"),
            *("-subj", f"/CN={HOST}", "-addext", f"subjectAltName=IP:{HOST}"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@pytest.fixture
def smtp_server_with_starttls(server_tls_context):
    with running(tls_context=server_tls_context, require_starttls=True) as server:
        yield server


@pytest.fixture
def smtps_server(server_tls_context):
    with running("smtps", ssl_context=server_tls_context) as server:
        yield server


@pytest.fixture
def dead_smtp_url():
    """An smtp:// URL whose port is bound but not listening: every connection is refused."""
    with socket.socket() as bound:
        bound.bind((HOST, 0))
        yield f"smtp://{HOST}:{bound.getsockname()[1]}"
