"""`POST /hooks/46elks/delivery`: 46elks' delivery reports (form `id`, `status`,
`delivered`), authenticated by the token in `whendelivered`. Answers 204 quickly for
every well-formed report, known or not, so 46elks does not retry it for hours."""

import hmac

from flask import abort, request
from flask_babel import gettext as _

from portal.hooks import bp
from portal.security import body_limit
from portal.sms.delivery import REPORTED, receive_report
from portal.sms.providers import delivery_token

MAX_BODY_BYTES = 4 * 1024
MAX_ID_LENGTH = 100


@bp.post("/46elks/delivery")
@body_limit(MAX_BODY_BYTES)
def elks_delivery():
    given = request.args.get("token", "").encode()
    if not hmac.compare_digest(given, delivery_token().encode()):
        abort(403)
    provider_id = request.form.get("id", "").strip()
    status = request.form.get("status", "").strip()
    if not provider_id or len(provider_id) > MAX_ID_LENGTH:
        return _plain(_("Fältet id saknas eller är för långt."), 400)
    if status not in REPORTED:
        return _plain(_("Okänd status: väntade sent, delivered eller failed."), 400)
    receive_report(provider_id, status)
    return "", 204


def _plain(text, status):
    return text, status, {"Content-Type": "text/plain; charset=utf-8"}
