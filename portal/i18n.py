"""Language and time: Swedish by default, English available, Europe/Stockholm time.

Source strings are Swedish; `portal/translations/en` holds the English catalogue.
"""

from flask import current_app, has_request_context, session
from flask_babel import format_date, format_datetime, format_decimal, get_locale

from portal.extensions import babel


def init_app(app):
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters["datetime"] = format_stockholm_datetime
    app.jinja_env.filters["date"] = lambda value: format_date(value, "yyyy-MM-dd") if value else ""
    app.jinja_env.filters["thousands"] = format_decimal
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale() or "sv")


def select_locale():
    """The language chosen in this session, else the default (Swedish, also for CLI and jobs)."""
    chosen = session.get("lang") if has_request_context() else None
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def choose_language(code):
    """Remember the visitor's language for this session; unknown codes are ignored."""
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code


def format_stockholm_datetime(value):
    """2026-11-25 14:41 — Swedish format, Europe/Stockholm time (the Babel default zone)."""
    return format_datetime(value, "yyyy-MM-dd HH:mm") if value else ""
