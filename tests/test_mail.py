"""E-mail about new orders, as a real SMTP server receives it (issue #3, point 5)."""

import logging
import secrets
from datetime import UTC, datetime

import pytest
from rq.job import JobStatus

from jobs.mail import enqueue_order_emails
from portal.config import ConfigError
from portal.extensions import db
from portal.mail import compose, deliver
from portal.models import OrgKind, Role, SmsOrder

BASE_URL = "https://sms.example.se"
CREATED = datetime(2026, 3, 2, 8, 5, tzinfo=UTC)  # 09:05 in Stockholm (CET, UTC+1)
CONFIRMATION = "Vi har tagit emot er beställning av SMS (SMS-2026-000042)"
NOTICE = "Ny SMS-beställning väntar: Göteborgs Stad (SMS-2026-000042)"


def make_order(**fields):
    order = SmsOrder(
        **{
            "number": "SMS-2026-000042",
            "token": secrets.token_urlsafe(32),
            "org_kind": OrgKind.KOMMUN,
            "org_name": "Göteborgs Stad",
            "org_number": "212000-1355",
            "contact_name": "Åsa Öberg",
            "contact_email": "asa.oberg@example.se",
            "contact_phone": "+46701234567",
            "invoice_address": "Box 1, 404 82 Göteborg",
            "invoice_reference": "Ansvar 4711",
            "terms_accepted_at": CREATED,
            "created_at": CREATED,
            **fields,
        }
    )
    db.session.add(order)
    db.session.commit()
    return order


@pytest.fixture
def mailbox(app, smtp_server):
    """Mail from `app` goes to the local SMTP server; links point at BASE_URL."""
    app.config.update(MAIL_URL=smtp_server.url, PUBLIC_BASE_URL=BASE_URL)
    return smtp_server


@pytest.fixture
def operators(make):
    return [make.person(Role.OPERATOR), make.person(Role.OPERATOR)]


def mail_with_subject(server, subject):
    [mail] = [mail for mail in server.received if mail.message["Subject"] == subject]
    return mail


def body(mail):
    """The text as written: SMTP carries lines ending in CRLF."""
    return mail.message.get_content().replace("\r\n", "\n")


def test_the_orderer_gets_a_confirmation(mailbox, operators, run_jobs):
    order = make_order()
    enqueue_order_emails(order.id)
    run_jobs()

    mail = mail_with_subject(mailbox, CONFIRMATION)
    assert mail.recipients == ["asa.oberg@example.se"]
    assert mail.message["To"] == "asa.oberg@example.se"
    assert mail.message["From"] == "SMS-portalen <noreply@sms-portalen.se>"
    assert mail.message["Message-ID"].endswith("@sms-portalen.se>")
    assert mail.message["Date"].datetime.tzinfo is not None
    assert mail.message.get_content_type() == "text/plain"
    assert mail.message.get_content_charset() == "utf-8"
    text = body(mail)
    assert text.startswith("Hej Åsa Öberg!\n")
    assert "Organisation: Göteborgs Stad\n" in text
    assert "Organisationsnummer: 212000-1355\n" in text
    assert "Beställningsnummer: SMS-2026-000042\n" in text
    assert "Mottagen: 2026-03-02 09:05 (svensk tid)\n" in text
    assert f"Följ beställningen här: {BASE_URL}/order/{order.token}\n" in text
    assert "SMS aktiveras inom ett dygn\n(24 timmar)" in text
    assert "senast 2026-03-03 09:05" in text
    assert "- SMS säljs i paket om 10\N{NO-BREAK SPACE}000 SMS.\n" in text
    assert "Det första paketet faktureras när SMS aktiveras." in text
    assert "tills organisationen\n  avslutar SMS." in text
    assert "aldrig av mottagarna (personal, elever\n  eller vårdnadshavare)" in text
    assert "Pris per paket lämnas på förfrågan." in text
    assert text.endswith("Med vänliga hälsningar\nSMS-portalen\n")


def test_the_package_size_in_the_terms_is_the_configured_one(app, mailbox, run_jobs):
    app.config["SMS_PACKAGE_SIZE"] = 25_000
    enqueue_order_emails(make_order().id)
    run_jobs()
    assert "paket om 25\N{NO-BREAK SPACE}000 SMS." in body(mail_with_subject(mailbox, CONFIRMATION))


def test_every_active_operator_gets_one_notice(mailbox, operators, make, run_jobs):
    make.person(Role.OPERATOR, active=False)
    make.person(Role.OPERATOR, email=None)
    make.person(Role.ADMIN)
    enqueue_order_emails(make_order().id)
    run_jobs()

    mail = mail_with_subject(mailbox, NOTICE)
    addresses = sorted(operator.email for operator in operators)
    assert mail.recipients == addresses
    assert mail.message["To"] == ", ".join(addresses)
    text = body(mail)
    assert text.startswith("En ny beställning av SMS väntar på beslut.\n")
    assert "Organisation: Göteborgs Stad\n" in text
    assert "Typ av organisation: Kommun\n" in text
    assert "Organisationsnummer: 212000-1355\n" in text
    assert "Beställningsnummer: SMS-2026-000042\n" in text
    assert "Kontaktperson: Åsa Öberg <asa.oberg@example.se>\n" in text
    assert "Mottagen: 2026-03-02 09:05 (svensk tid)\n" in text
    assert "Ska aktiveras senast: 2026-03-03 09:05 (ett dygn efter mottagandet)\n" in text
    assert f"Granska och besluta i aktiveringskön:\n{BASE_URL}/admin/orders\n" in text
    assert "+46701234567" not in text


def test_times_are_stockholm_time_across_the_change_to_summer_time(mailbox, operators, run_jobs):
    # 23:30 UTC on 28 March 2026 is 00:30 in Stockholm; clocks go forward at 02:00 that
    # night, so 24 hours later is 01:30 summer time.
    order = make_order(
        org_kind=OrgKind.FRISKOLA, created_at=datetime(2026, 3, 28, 23, 30, tzinfo=UTC)
    )
    enqueue_order_emails(order.id)
    run_jobs()

    text = body(mail_with_subject(mailbox, NOTICE))
    assert "Typ av organisation: Fristående skola\n" in text
    assert "Mottagen: 2026-03-29 00:30 (svensk tid)\n" in text
    assert "Ska aktiveras senast: 2026-03-30 01:30 " in text


def test_names_are_not_html_escaped(mailbox, operators, run_jobs):
    order = make_order(org_name="Skola & Co <AB>", contact_name='Örjan "Ö" O\'Neill')
    enqueue_order_emails(order.id)
    run_jobs()

    notice = mail_with_subject(
        mailbox, "Ny SMS-beställning väntar: Skola & Co <AB> (SMS-2026-000042)"
    )
    confirmation = mail_with_subject(mailbox, CONFIRMATION)
    assert "Organisation: Skola & Co <AB>\n" in body(notice)
    assert "Organisation: Skola & Co <AB>\n" in body(confirmation)
    assert body(confirmation).startswith('Hej Örjan "Ö" O\'Neill!\n')
    for text in (body(notice), body(confirmation)):
        assert "&amp;" not in text and "&lt;" not in text and "&#" not in text


def test_enqueueing_twice_sends_each_mail_once(mailbox, operators, run_jobs):
    order = make_order()
    first = enqueue_order_emails(order.id)
    second = enqueue_order_emails(order.id)
    assert (
        [job.id for job in first]
        == [job.id for job in second]
        == [
            f"order-confirmation-{order.id}",
            f"order-notice-{order.id}",
        ]
    )
    assert all(job.origin == "mail" for job in first)
    run_jobs()
    assert sorted(mail.message["Subject"] for mail in mailbox.received) == [NOTICE, CONFIRMATION]


def test_without_operators_only_the_orderer_gets_mail(mailbox, run_jobs, caplog):
    enqueue_order_emails(make_order().id)
    with caplog.at_level(logging.WARNING, logger="jobs.mail"):
        run_jobs()
    assert [message["Subject"] for message in mailbox.messages] == [CONFIRMATION]
    assert "No active operator with an e-mail address to notify of SMS-2026-000042" in caplog.text


def test_without_mail_url_mail_is_logged_not_sent(app, smtp_server, operators, run_jobs, caplog):
    app.config["PUBLIC_BASE_URL"] = BASE_URL
    order = make_order()
    enqueue_order_emails(order.id)
    with caplog.at_level(logging.INFO, logger="portal.mail"):
        run_jobs()

    assert smtp_server.received == []
    [confirmation] = [r for r in caplog.records if CONFIRMATION in r.getMessage()]
    assert confirmation.name == "portal.mail"
    assert confirmation.levelno == logging.INFO
    assert "not sending mail to ***@example.se:" in confirmation.getMessage()  # logs are masked
    assert f"{BASE_URL}/order/{order.token}" in confirmation.getMessage()
    [notice] = [r for r in caplog.records if NOTICE in r.getMessage()]
    masked = ", ".join(sorted("***@" + operator.email.split("@")[1] for operator in operators))
    assert f"not sending mail to {masked}:" in notice.getMessage()


def test_mail_url_credentials_are_used_to_log_in(app, smtp_server_with_login, run_jobs):
    port = smtp_server_with_login.port
    app.config["MAIL_URL"] = f"smtp://portal:p%40ss@127.0.0.1:{port}"
    enqueue_order_emails(make_order().id)
    run_jobs()

    [mail] = smtp_server_with_login.received
    assert mail.login == "portal"
    assert mail.message["Subject"] == CONFIRMATION


def test_a_wrong_password_fails_the_job(app, smtp_server_with_login, run_jobs, caplog):
    app.config["MAIL_URL"] = f"smtp://portal:fel@127.0.0.1:{smtp_server_with_login.port}"
    [confirmation, _notice] = enqueue_order_emails(make_order().id)
    run_jobs()

    assert smtp_server_with_login.received == []
    assert_failed_and_retrying(confirmation, "SMTPAuthenticationError", caplog)


def test_starttls_is_used_when_the_server_offers_it(app, smtp_server_with_starttls, run_jobs):
    app.config["MAIL_URL"] = smtp_server_with_starttls.url
    enqueue_order_emails(make_order().id)
    run_jobs()

    [mail] = smtp_server_with_starttls.received
    assert mail.tls
    assert mail.message["Subject"] == CONFIRMATION


def test_smtps_speaks_tls_from_the_start(app, smtps_server, run_jobs):
    app.config["MAIL_URL"] = smtps_server.url
    enqueue_order_emails(make_order().id)
    run_jobs()

    [mail] = smtps_server.received
    assert mail.tls
    assert "Hej Åsa Öberg!" in body(mail)


def test_an_unreachable_server_fails_the_job_for_a_retry(
    app, dead_smtp_url, operators, run_jobs, caplog
):
    app.config["MAIL_URL"] = dead_smtp_url
    jobs = enqueue_order_emails(make_order().id)
    run_jobs()
    for job in jobs:
        assert_failed_and_retrying(job, "ConnectionRefusedError", caplog)


def test_a_refused_message_fails_the_job_for_a_retry(mailbox, run_jobs, caplog):
    mailbox.refuse("554 5.7.1 Meddelandet avvisas")
    [confirmation, _notice] = enqueue_order_emails(make_order().id)
    run_jobs()

    assert mailbox.received == []
    assert_failed_and_retrying(confirmation, "Meddelandet avvisas", caplog)


def test_an_order_that_does_not_exist_fails_the_jobs(mailbox, operators, run_jobs, caplog):
    jobs = enqueue_order_emails(987654)
    run_jobs()

    assert mailbox.received == []
    for job in jobs:
        assert_failed_and_retrying(job, "LookupError: SMS order 987654 does not exist", caplog)


def test_an_unknown_mail_url_scheme_is_a_clear_error(app):
    app.config["MAIL_URL"] = "http://mail.example.se"
    with pytest.raises(ConfigError, match="smtp:// or smtps://, not http://"):
        deliver(compose("a@example.se", "Ämne", "Text"))


def assert_failed_and_retrying(job, error, caplog):
    """The job raised `error`, the worker logged it, and RQ has scheduled its first retry.

    RQ keeps no result for a job it will retry; the worker's error log is the record.
    """
    job.refresh()
    assert job.get_status() == JobStatus.SCHEDULED
    assert job.retries_left == 2
    [failure] = [
        record
        for record in caplog.records
        if record.name == "rq.worker" and getattr(record, "job_id", None) == job.id
    ]
    assert failure.levelno == logging.ERROR
    assert error in failure.getMessage()
