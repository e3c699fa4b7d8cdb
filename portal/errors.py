"""Error pages in Swedish: whole pages for browsers, fragments for HTMX requests."""

import logging

from flask import jsonify, request
from flask_babel import lazy_gettext as _l
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from portal.extensions import db
from portal.htmx import render

log = logging.getLogger(__name__)

MESSAGES = {
    400: (_l("Felaktig begäran"), _l("Begäran kunde inte behandlas. Kontrollera uppgifterna.")),
    403: (_l("Åtkomst nekad"), _l("Du har inte behörighet att se den här sidan.")),
    404: (_l("Sidan finns inte"), _l("Kontrollera adressen eller gå tillbaka till startsidan.")),
    405: (_l("Metoden stöds inte"), _l("Sidan kan inte användas på det här sättet.")),
    413: (_l("För stor fil"), _l("Det du skickade är för stort. Försök med mindre filer.")),
    422: (_l("Uppgifterna kunde inte sparas"), _l("Rätta felen och försök igen.")),
    429: (
        _l("För många försök"),
        _l("Du har gjort för många försök på kort tid. Vänta en stund och försök igen."),
    ),
    500: (_l("Något gick fel"), _l("Ett tekniskt fel uppstod. Försök igen om en stund.")),
}


def init_app(app):
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)


def error_response(status, message=None):
    title, default_message = MESSAGES.get(status, MESSAGES[500])
    context = {"code": status, "title": title, "message": message or default_message}
    if request.accept_mimetypes.best == "application/json":
        return jsonify(error=str(context["message"])), status
    return render("errors/error.html", "errors/_error.html", status=status, **context)


def _csrf_error(_error):
    return error_response(
        400,
        _l("Formuläret har gått ut eller saknar säkerhetstoken. Ladda om sidan och försök igen."),
    )


def _http_error(error):
    if error.code is None or error.code < 400:
        return error
    response = error_response(error.code if error.code in MESSAGES else 500)
    if error.code == 405 and error.valid_methods:
        body, status = response
        return body, status, {"Allow": ", ".join(error.valid_methods)}
    if isinstance(error, RateLimitExceeded):
        # The limit's whole window: the longest wait there can be, known without asking
        # Redis (Flask-Limiter's own rate-limit headers cost two round trips on every
        # limited request, and are off; see config.py).
        body, status = response
        return body, status, {"Retry-After": str(error.limit.limit.get_expiry())}
    return response


def _unexpected_error(error):
    log.exception("Unhandled error on %s %s", request.method, request.path)
    db.session.rollback()
    return error_response(InternalServerError.code)
