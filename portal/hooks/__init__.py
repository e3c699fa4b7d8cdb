"""Webhooks from outside services (DESIGN.md §4): machine-to-machine, authenticated by a
secret in the URL, so CSRF and the visitors' rate limits do not apply to them."""

from flask import Blueprint

from portal.extensions import csrf, limiter

bp = Blueprint("hooks", __name__, url_prefix="/hooks")
csrf.exempt(bp)
limiter.exempt(bp)

from portal.hooks import views  # noqa: E402, F401
