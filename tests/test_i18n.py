"""Swedish by default, English available and complete, Stockholm time in Swedish format."""

from datetime import UTC, datetime
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from portal.i18n import format_stockholm_datetime
from tests.conftest import csrf_token

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}
METHODS = [("portal/**.py", "python"), ("templates/**.html", "jinja2")]


def test_swedish_is_the_default(client):
    assert '<html lang="sv">' in client.get("/login").get_data(as_text=True)


def test_english_is_available(client):
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/language", data={"lang": "en", "next": "/login", "csrf_token": csrf_token(page)}
    )
    assert response.headers["Location"] == "/login"
    english = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in english
    assert ">Log in</button>" in english
    assert '<label class="label" for="email">Email address</label>' in english


def test_every_swedish_text_has_an_english_translation():
    with open(ROOT / "portal/translations/en/LC_MESSAGES/messages.po", "rb") as handle:
        catalog = read_po(handle)
    extracted = {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT, METHODS, keywords=KEYWORDS
        )
        if isinstance(message, str)
    }
    untranslated = sorted(m for m in extracted if not (catalog.get(m) and catalog.get(m).string))
    assert untranslated == []


def test_times_are_shown_in_stockholm_time(app):
    with app.test_request_context():
        summer = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
        winter = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
        assert format_stockholm_datetime(summer) == "2026-07-01 12:00"
        assert format_stockholm_datetime(winter) == "2026-12-01 11:00"
