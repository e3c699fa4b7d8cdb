"""HTMX helpers: recognise HTMX requests and render the fragment they asked for."""

from flask import render_template, request


def init_app(app):
    app.after_request(_vary_on_hx_request)


def is_htmx():
    """True when the request came from htmx (not a history restore, which wants a page)."""
    return request.headers.get("HX-Request") == "true" and not request.headers.get(
        "HX-History-Restore-Request"
    )


def render(page, partial=None, status=200, **context):
    """Render `partial` for HTMX requests and the whole `page` otherwise."""
    template = partial if partial and is_htmx() else page
    return render_template(template, **context), status


def _vary_on_hx_request(response):
    response.vary.add("HX-Request")
    return response
