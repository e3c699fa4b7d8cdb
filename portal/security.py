"""Response headers, role checks and organisation scoping."""

from functools import wraps
from urllib.parse import urlsplit

from flask import abort, current_app, request, session
from flask_login import current_user, login_required
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.extensions import db

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}

_DEFAULTS = tuple((name.lower(), name, value) for name, value in HEADERS.items())


def init_app(app):
    """Register before CSRF protection, so body limits apply before any form is parsed.

    Behind TRUSTED_PROXY_COUNT proxies (a load balancer), the client's address and
    scheme are taken from their X-Forwarded-* headers, so per-IP limits and the audit
    log see the visitor, not the balancer; without proxies those headers are ignored.
    """
    production = app.config["PORTAL_ENV"] == "production"
    proxies = app.config["TRUSTED_PROXY_COUNT"]
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    app.before_request(_apply_body_limit)

    @app.after_request
    def _security_headers(response):
        # The headers a view has not set itself, found in one pass over the response's
        # headers: a setdefault per header scanned them six times, on every response.
        present = {name.lower() for name, _value in response.headers}
        response.headers.extend(
            [(name, value) for key, name, value in _DEFAULTS if key not in present]
        )
        if _private(response):
            response.headers["Cache-Control"] = "no-store"
        if production:
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response


def _private(response):
    """Pages for a signed-in person and HTMX fragments are never stored by any cache.

    A session that claims a sign-in counts, even before (or without) loading the
    person, so error responses and pages that never touch `current_user` are covered.
    Static files stay cacheable.
    """
    if request.endpoint == "static":
        return False
    return bool(request.headers.get("HX-Request")) or "_user_id" in session


def body_limit(max_bytes):
    """Requests to this view with a larger body are refused with 413 before parsing."""

    def decorator(view):
        view.max_body_bytes = max_bytes
        return view

    return decorator


def _apply_body_limit():
    view = current_app.view_functions.get(request.endpoint)
    limit = getattr(view, "max_body_bytes", None)
    if limit is not None:
        request.max_content_length = limit


def role_required(*roles):
    """Only signed-in people with one of `roles` get through; others get 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def get_in_organisation(model, object_id):
    """Load `model` by id within the signed-in person's organisation, or 404.

    Views never load organisation data by a bare id: an id from another
    organisation is indistinguishable from one that does not exist.
    """
    obj = db.session.get(model, object_id)
    if obj is None or obj.organisation_id != current_user.organisation_id:
        abort(404)
    return obj


def safe_next(target, fallback):
    """`target` if it is a path on this site, else `fallback` (no open redirects)."""
    if target and target.startswith("/") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return fallback
