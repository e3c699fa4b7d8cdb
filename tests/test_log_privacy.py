"""No phone number or e-mail address reaches a log line; production logs are JSON."""

import io
import json
import logging
from contextlib import contextmanager

import pytest

from portal.logs import (
    JsonFormatter,
    PersonalDataFilter,
    PortalHandler,
    install,
    mask_loggers,
    mask_text,
)
from tests.test_login_throttling import attempt, token_of


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("+46701234567", "+46*******67"),
        ("ring +46 70 123 45 67 nu", "ring +46 ** *** ** 67 nu"),
        ("0046701234567", "***********67"),
        ("070-123 45 67", "***-*** ** 67"),
        ("0701234567", "********67"),
        ("08-123 456 78", "**-*** *** 78"),
        ("46701234567", "*********67"),
        ("till +4915123456789.", "till +49*********89."),
        ("+46 (0)70-123 45 67", "+46 (*)**-*** ** 67"),
        ("+46(0)701234567", "+46(*)*******67"),
        ("ring (070) 123 45 67", "ring (***) *** ** 67"),
        ("(08) 123 456 78", "(**) *** *** 78"),
        ("nummer: (0701234567)", "nummer: (********67)"),
        ("anna.svensson@skola.se", "***@skola.se"),
        ("Ärende från åsa.öberg+sms@kommun.example.se", "Ärende från ***@kommun.example.se"),
        ("0701234567@sms.example", "***@sms.example"),
    ],
)
def test_numbers_and_addresses_are_masked(text, masked):
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "SMS-2026-000001 12 mottagare",
        "F-2026-000042",
        "2026-11-25 14:41:05",
        "556123-4567",
        "127.0.0.1",
        "send-12-3 dispatch-40",
        "01234567-89ab-cdef-0123-456789abcdef",
        "4 500,00 kr för 10000 SMS",
        "took 0.125 s",
        "retried (0) times",
        "(01234567-89ab-cdef)",
    ],
)
def test_other_numbers_are_left_alone(text):
    assert mask_text(text) == text


@pytest.fixture
def root_handler():
    """A handler on the root logger, as a deployment's logging would have."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler, stream
    root.removeHandler(handler)


def test_the_app_factory_masks_what_every_module_logs(make_app, root_handler):
    handler, stream = root_handler
    make_app()
    assert any(isinstance(f, PersonalDataFilter) for f in handler.filters)
    assert any(isinstance(f, PersonalDataFilter) for f in logging.getLogger().filters)

    log = logging.getLogger("portal.some.module")
    log.warning("SMS to %s for %s failed", "+46701234567", "karin.lindberg@example.se")
    log.warning({"mobile": "070-174 06 05"})
    line = stream.getvalue()
    assert "+46701234567" not in line and "karin.lindberg" not in line
    assert "1740605" not in line and "174 06 05" not in line
    assert "SMS to +46*******67 for ***@example.se failed" in line


def test_tracebacks_are_masked(make_app, root_handler):
    _handler, stream = root_handler
    make_app()
    try:
        raise ValueError("no such number: 0701234567 (kalle@example.se)")
    except ValueError:
        logging.getLogger("jobs.sending").exception("send failed")
    text = stream.getvalue()
    assert "Traceback" in text and "ValueError: no such number: ********67" in text
    assert "0701234567" not in text and "kalle@" not in text


def test_a_library_line_with_an_address_is_masked(make_app, root_handler, make, caplog):
    """Flask-Limiter logs the key of a limit it enforces: for the login, the address."""
    _handler, stream = root_handler
    caplog.set_level(logging.INFO)  # as in production, where the root logs INFO
    client = make_app().test_client()
    person = make.person(email="kerstin.holm@example.se")
    token = token_of(client)
    for _ in range(6):
        attempt(client, token, person.email)
    line = next(line for line in stream.getvalue().splitlines() if "exceeded" in line)
    assert "login-email:***@example.se" in line
    assert "kerstin" not in stream.getvalue()


def test_a_bad_format_call_is_still_logged_masked(make_app, root_handler):
    _handler, stream = root_handler
    make_app()
    logging.getLogger("portal").warning("two %s %s", "0701234567")
    assert "********67" in stream.getvalue() and "0701234567" not in stream.getvalue()


@contextmanager
def bare_root_logger():
    """The root logger as a fresh process has it (no handlers, no filters, WARNING),
    inside the test itself: pytest adds its own handlers around each test phase."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.filters[:], root.level)
    root.handlers.clear()
    root.filters.clear()
    root.setLevel(logging.WARNING)
    try:
        yield root
    finally:
        root.handlers[:], root.filters[:] = saved[0], saved[1]
        root.setLevel(saved[2])


def test_production_logs_are_masked_json_lines():
    stream = io.StringIO()
    with bare_root_logger() as root:
        install(level=logging.INFO)  # the worker, before the app exists
        install(production=True)  # the factory, once the configuration says production
        (handler,) = root.handlers
        assert isinstance(handler, PortalHandler) and root.level == logging.INFO
        handler.setStream(stream)

        logging.getLogger("jobs.sending").info("sent to %s", "+46701234567")
        try:
            raise RuntimeError("provider said 0701234567")
        except RuntimeError:
            logging.getLogger("portal.errors").exception("crash for eva@example.se")

    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "sent to +46*******67"
    assert (first["level"], first["logger"]) == ("INFO", "jobs.sending")
    assert first["time"].endswith("+00:00")
    assert second["message"] == "crash for ***@example.se"
    assert "RuntimeError: provider said ********67" in second["exception"]


def test_the_factory_logs_json_in_production_only(make_app, database_url):
    allowances = {"ALLOW_CONSOLE_PROVIDER": True, "ALLOW_SQLITE": database_url.startswith("sqlite")}
    with bare_root_logger() as root:
        make_app()
        (handler,) = root.handlers
        assert not isinstance(handler.formatter, JsonFormatter)
        make_app(PORTAL_ENV="production", **allowances)
        assert isinstance(handler.formatter, JsonFormatter)
        assert any(isinstance(f, PersonalDataFilter) for f in handler.filters)


def test_development_logs_are_plain_text_and_install_is_idempotent():
    with bare_root_logger() as root:
        install()
        install()
        (handler,) = root.handlers
        assert not isinstance(handler.formatter, JsonFormatter)
        assert len(handler.filters) == 1 and len(root.filters) == 1
        assert root.level == logging.INFO


def test_loggers_with_handlers_of_their_own_are_masked_also_after_a_reload():
    """gunicorn's error log keeps its own handlers and does not propagate (wsgi.py masks it)."""
    logger = logging.getLogger("tests.gunicorn.error")
    logger.propagate = False
    before, after = io.StringIO(), io.StringIO()
    logger.addHandler(logging.StreamHandler(before))
    try:
        mask_loggers("tests.gunicorn.error")
        mask_loggers("tests.gunicorn.error")
        logger.error("worker failed for %s", "eva@example.se")
        logger.handlers = [logging.StreamHandler(after)]  # set up again, as on a reload
        logger.error("request from 070-123 45 67")
    finally:
        logger.handlers, logger.filters, logger.propagate = [], [], True

    assert before.getvalue() == "worker failed for ***@example.se\n"
    assert after.getvalue() == "request from ***-*** ** 67\n"
