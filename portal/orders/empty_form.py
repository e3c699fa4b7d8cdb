"""The empty order form (a GET of /order), rendered once per language and kept.

Rendering the page, above all its nine labelled fields, is almost all of a GET's cost,
and for an anonymous visitor without a flashed message or a query string the page is
the same every time but for two values: the CSRF token and the signed start stamp. The
first such page is kept with those two values replaced by marks (random per process,
so no page content can hold them), and each later request gets a copy with its own
token and stamp put back in their place: the same bytes a full rendering gives. Any
other GET (signed in, a flashed message, a query string, templates that reload in
development) is rendered in full.
"""

import secrets

from flask import current_app, request, session
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

KEPT = "orders.empty_form"
CSRF_MARK = f"csrf-{secrets.token_hex(16)}"
STARTED_MARK = f"started-{secrets.token_hex(16)}"


def empty_form_page(render, started: str) -> str:
    """The form page with this request's CSRF token and the start stamp `started`;
    `render(started)` renders it in full."""
    token = generate_csrf()
    if not _same_for_everyone():
        return render(started)
    kept = current_app.extensions.setdefault(KEPT, {})
    key = (str(get_locale()), request.script_root, current_app.config["SMS_PACKAGE_SIZE"])
    page = kept.get(key)
    if page is None:
        page = render(started)
        kept[key] = page.replace(token, CSRF_MARK).replace(started, STARTED_MARK)
        return page
    return page.replace(CSRF_MARK, token).replace(STARTED_MARK, started)


def _same_for_everyone() -> bool:
    return not (
        request.query_string
        or "_flashes" in session
        or current_user.is_authenticated
        or current_app.jinja_env.auto_reload
    )
