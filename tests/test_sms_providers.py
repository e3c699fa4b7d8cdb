"""The SMS providers: console in development, 46elks over HTTP against a local server
that speaks its wire format, and the sender-name and callback rules around them."""

import logging
import re
import socket
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from portal.config import ConfigError, load
from portal.sms.providers import (
    delivery_callback_url,
    delivery_token,
    get_provider,
    sender_for,
    validate_sender,
)
from portal.sms.providers.base import Outgoing, PermanentError, TransientError
from portal.sms.providers.console import ConsoleProvider
from portal.sms.providers.elks import ElksProvider, retry_after
from portal.sms.text import count
from tests.elks import COST_PER_PART, PASSWORD, USERNAME

NUMBER = "+46701234567"
CALLBACK = "https://sms.example.se/hooks/46elks/delivery?token=abc"
LONG_TEXT = "Utvecklingssamtal " * 12


def sms(to=NUMBER, text="Hej! Skolan är stängd i morgon.", sender="Skolan", callback=CALLBACK):
    return Outgoing(to=to, sender=sender, text=text, callback_url=callback)


@pytest.fixture
def elks(elks_server):
    provider = ElksProvider(elks_server.url, USERNAME, PASSWORD, read_timeout=2)
    yield provider
    provider.close()


# Console --------------------------------------------------------------------------------


def test_console_keeps_and_logs_what_would_be_sent_with_the_number_masked(caplog):
    provider = ConsoleProvider()
    with caplog.at_level(logging.INFO, logger="portal.sms.providers.console"):
        accepted = provider.send(sms(text=LONG_TEXT))
    assert accepted.parts == count(LONG_TEXT).segments == 2
    assert re.fullmatch(r"console-[0-9a-f]{24}", accepted.provider_id)
    assert provider.sent[-1].outgoing.to == NUMBER
    assert provider.sent[-1].accepted == accepted
    assert NUMBER not in caplog.text
    assert "+46*******67" in caplog.text


def test_console_ids_are_unique_and_the_record_is_bounded():
    provider = ConsoleProvider(keep=3)
    ids = {provider.send(sms()).provider_id for _ in range(5)}
    assert len(ids) == 5
    assert len(provider.sent) == 3


# 46elks: accepted -----------------------------------------------------------------------


def test_46elks_posts_the_form_with_basic_auth_and_parses_the_answer(elks, elks_server):
    accepted = elks.send(sms(text=LONG_TEXT))

    [received] = elks_server.sent
    assert (received.sender, received.to, received.message) == ("Skolan", NUMBER, LONG_TEXT)
    assert received.whendelivered == CALLBACK
    assert accepted.provider_id == received.id
    assert re.fullmatch(r"s[0-9a-f]{32}", accepted.provider_id)
    assert accepted.parts == 2
    assert accepted.cost == 2 * COST_PER_PART


def test_46elks_unicode_text_is_billed_in_unicode_parts(elks):
    assert elks.send(sms(text="Hej 👋 " * 15)).parts == count("Hej 👋 " * 15).segments == 2


def test_46elks_reuses_one_keep_alive_connection(elks, elks_server):
    for n in range(5):
        elks.send(sms(to=f"+4670123456{n}"))
    assert elks_server.count == 5
    assert elks_server.connections == 1


def test_46elks_without_callback_sends_no_whendelivered(elks, elks_server):
    elks.send(sms(callback=None))
    assert elks_server.sent[0].whendelivered is None


# 46elks: try again later ----------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503])
def test_46elks_server_errors_are_transient(elks, elks_server, status):
    elks_server.fail_next(1, status=status)
    with pytest.raises(TransientError, match=str(status)):
        elks.send(sms())
    assert elks.send(sms()).parts == 1
    assert elks_server.count == 1


def test_46elks_timeout_is_transient(elks_server):
    provider = ElksProvider(elks_server.url, USERNAME, PASSWORD, read_timeout=0.2)
    elks_server.delay_next(5)
    started = time.monotonic()
    with pytest.raises(TransientError, match="svarade inte i tid"):
        provider.send(sms())
    assert time.monotonic() - started < 2
    assert provider.send(sms()).parts == 1
    provider.close()


def test_46elks_refused_connection_is_transient():
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{bound.getsockname()[1]}/a1"
        provider = ElksProvider(url, USERNAME, PASSWORD)
        with pytest.raises(TransientError, match="Kunde inte ansluta"):
            provider.send(sms())
        provider.close()


def test_46elks_429_honours_retry_after_in_seconds(elks, elks_server):
    elks_server.throttle_next(retry_after="7")
    with pytest.raises(TransientError) as refused:
        elks.send(sms())
    assert refused.value.retry_after == 7
    assert elks_server.count == 0


def test_46elks_429_honours_retry_after_as_an_http_date(elks, elks_server):
    elks_server.throttle_next(retry_after=format_datetime(_in(seconds=30), usegmt=True))
    with pytest.raises(TransientError) as refused:
        elks.send(sms())
    assert 25 <= refused.value.retry_after <= 30


@pytest.mark.parametrize(
    ("status", "text", "reason"),
    [
        (401, "Unauthorized", "inloggningen"),
        (403, "Not enough credits", "saknar saldo"),
        (402, "Not enough credits", "saknar saldo"),
        (403, "Forbidden", "nekade kontot (HTTP 403)"),
        (404, "Not found", "nekade kontot (HTTP 404)"),
    ],
)
def test_46elks_account_problems_are_transient(elks, elks_server, status, text, reason):
    elks_server.fail_next(1, status=status, text=text)
    with pytest.raises(TransientError, match=re.escape(reason)):
        elks.send(sms())


def test_46elks_wrong_credentials_are_transient(elks_server):
    provider = ElksProvider(elks_server.url, USERNAME, "fel-lösenord")
    with pytest.raises(TransientError, match="inloggningen"):
        provider.send(sms())
    assert elks_server.count == 0
    provider.close()


@pytest.mark.parametrize("body", ["OK", '{"id": "s1"}', '{"id": "", "parts": 1}', "[1, 2]"])
def test_46elks_unexpected_2xx_answer_is_transient(elks, elks_server, body):
    elks_server.fail_next(1, status=200, text=body)
    with pytest.raises(TransientError, match="Oväntat svar"):
        elks.send(sms())


# 46elks: never again --------------------------------------------------------------------


def test_46elks_invalid_number_is_permanent_with_a_swedish_reason(elks, elks_server):
    elks_server.reject(NUMBER)
    with pytest.raises(PermanentError) as refused:
        elks.send(sms())
    assert refused.value.reason == "Ogiltigt mobilnummer"
    assert elks.send(sms(to="+46701234568")).parts == 1


@pytest.mark.parametrize(
    ("outgoing", "reason"),
    [
        (sms(to="0701234567"), "Ogiltigt mobilnummer"),
        (sms(sender="Åby skola"), "Ogiltigt avsändarnamn"),
        (sms(text=""), "Meddelandet är tomt"),
    ],
)
def test_46elks_validates_like_46elks(elks, elks_server, outgoing, reason):
    with pytest.raises(PermanentError, match=reason):
        elks.send(outgoing)
    assert elks_server.count == 0


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Message too long", "Meddelandet är för långt"),
        ("Invalid from field", "Ogiltigt avsändarnamn"),
        ("Computer says no", "SMS-leverantören tog inte emot SMS:et (HTTP 400)"),
    ],
)
def test_46elks_other_refusals_are_permanent(elks, elks_server, text, reason):
    elks_server.reject(NUMBER, 400, text)
    with pytest.raises(PermanentError, match=re.escape(reason)):
        elks.send(sms())


# Choosing the provider ------------------------------------------------------------------


def test_console_is_the_default_provider_and_built_once(app):
    provider = get_provider()
    assert isinstance(provider, ConsoleProvider)
    assert get_provider() is provider


def test_46elks_provider_from_the_configuration(make_app, elks_server):
    app = make_app(
        SMS_PROVIDER="46elks",
        ELKS_API_URL=elks_server.url + "/",
        ELKS_API_USERNAME=USERNAME,
        ELKS_API_PASSWORD=PASSWORD,
    )
    with app.app_context():
        provider = get_provider()
        assert isinstance(provider, ElksProvider)
        assert get_provider() is provider
        provider.send(sms(callback=delivery_callback_url()))
    assert elks_server.sent[0].whendelivered.startswith("http://localhost:5000/hooks/46elks/")


# Sender name and callback ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("SMS-portal", True),
        ("Skolan", True),
        ("Kommun123", True),
        ("A", True),
        ("ABCDEFGHIJK", True),
        ("1A", True),
        ("", False),
        ("ABCDEFGHIJKL", False),
        ("Åby", False),
        ("Växjö", False),
        ("Bo skola", False),
        ("Skola.se", False),
        ("Skola!", False),
        ("12345", False),
        ("---", False),
    ],
)
def test_sender_names(app, name, valid):
    if valid:
        assert validate_sender(name) == name
    else:
        with pytest.raises(ValueError, match="Avsändarnamnet ska vara 1–11 tecken"):
            validate_sender(name)


@pytest.mark.parametrize("value", ["Åby skola", "Bo skola", "12345678"])
def test_configuration_refuses_a_sender_46elks_would_refuse(tmp_path, monkeypatch, value):
    monkeypatch.setenv("SMS_SENDER", value)
    with pytest.raises(ConfigError, match="SMS_SENDER"):
        load(tmp_path)


def test_the_organisations_sender_wins_over_the_default(app, make):
    organisation = make.org()
    assert sender_for(organisation) == "SMS-portal"
    organisation.sms_sender = "Nacka"
    assert sender_for(organisation) == "Nacka"


def test_the_callback_carries_a_token_derived_from_the_secret_key(app, make_app):
    assert delivery_callback_url() == (
        f"http://localhost:5000/hooks/46elks/delivery?token={delivery_token()}"
    )
    assert re.fullmatch(r"[0-9a-f]{64}", delivery_token())
    other = make_app(SECRET_KEY="another-secret-key-that-is-long-enough")
    with other.app_context():
        other_token = delivery_token()
    assert other_token != delivery_token()


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("5", 5), ("0", 0), ("1.5", 1.5), ("-3", 0), (None, None), ("", None), ("snart", None)],
)
def test_retry_after_seconds(header, seconds):
    assert retry_after(header) == seconds


def test_retry_after_in_the_past_is_now_and_nonsense_is_ignored():
    assert retry_after(format_datetime(_in(seconds=-60), usegmt=True)) == 0
    assert retry_after("nan") is None


def _in(**delta):
    return datetime.now(UTC) + timedelta(**delta)
