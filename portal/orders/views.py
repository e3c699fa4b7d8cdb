import logging
import time

from flask import abort, current_app, make_response, redirect, render_template, request, url_for
from itsdangerous import BadSignature, Signer, URLSafeSerializer
from redis.exceptions import RedisError

from jobs.mail import enqueue_new_order_mail
from portal.extensions import db, limiter
from portal.htmx import render
from portal.models import SmsOrder
from portal.orders import bp
from portal.orders.empty_form import empty_form_page
from portal.orders.forms import OrderForm
from portal.orders.placing import Refusal, place_order, promise_deadline
from portal.security import body_limit

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
RECEIPT_COOKIE = "order_receipt"
RECEIPT_SECONDS = 600


@bp.route("/order", methods=["GET", "POST"])
@limiter.limit("5 per minute;50 per day", methods=["POST"])
@body_limit(MAX_BODY_BYTES)
def new():
    if request.method == "GET":
        return empty_form_page(_empty_form, _stamp())
    form = OrderForm()
    if not form.validate():
        form.started.data = form.started.data or _stamp()
        return _form_page(form, status=422)
    if _looks_like_a_bot(form):
        log.info("Order form: dropped a submission that looked automated")
        return render("orders/dropped.html")
    placement = place_order(form.order_fields())
    if placement.refusal == Refusal.SMS_ACTIVE:
        return render("orders/already_active.html", org_number=placement.org_number)
    if placement.refusal == Refusal.ORDER_WAITING:
        return render("orders/already_waiting.html", order=placement.order)
    receipt = placement.receipt
    _send_emails(receipt)
    status_path = url_for("orders.status", token=receipt.token)
    response = redirect(status_path, code=303)
    _hand_over_receipt(response, status_path, receipt.token)
    return response


@bp.post("/order/validate/<name>")
@limiter.limit("120 per minute")
@body_limit(MAX_BODY_BYTES)
def validate_field(name):
    """Inline validation of one field (HTMX): its form group, 422 while it is wrong."""
    form = OrderForm()
    if name not in INLINE_FIELDS:
        abort(404)
    form.validate()
    field = form[name]
    return render_template("orders/_inline_field.html", field=field), 422 if field.errors else 200


@bp.get("/order/<token>")
def status(token):
    order = db.session.execute(
        db.select(SmsOrder).where(SmsOrder.token == token)
    ).scalar_one_or_none()
    if order is None:
        abort(404)
    body, code = render(
        "orders/status.html",
        order=order,
        receipt=_holds_receipt(token),
        deadline=promise_deadline(order),
    )
    response = make_response(body, code, PRIVATE_PAGE_HEADERS)
    if RECEIPT_COOKIE in request.cookies:
        status_path = url_for("orders.status", token=token)
        response.delete_cookie(RECEIPT_COOKIE, **_receipt_cookie_place(status_path))
    return response


INLINE_FIELDS = (
    "org_name",
    "org_number",
    "contact_name",
    "contact_email",
    "contact_phone",
    "invoice_address",
    "invoice_reference",
    "peppol_id",
    "comment",
)


PRIVATE_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}


def _empty_form(started):
    form = OrderForm()
    form.started.data = started
    page, _status = _form_page(form)
    return page


def _form_page(form, status=200):
    return render(
        "orders/new.html",
        form=form,
        inline_fields=INLINE_FIELDS,
        package_size=current_app.config["SMS_PACKAGE_SIZE"],
        status=status,
    )


def _send_emails(receipt):
    """Queue the receipt and the operators' notice; the order stands even if Redis is down."""
    try:
        enqueue_new_order_mail(receipt.order_id)
    except RedisError:
        log.exception("Order %s saved, but its e-mails could not be queued", receipt.number)


def _hand_over_receipt(response, status_path, token):
    """The receipt (which names the contact's e-mail address) is shown once, to the browser
    that placed the order: a cookie for the status page's path alone, holding the token's
    signature so that nobody else with the link can forge it; the page deletes it. Unlike a
    key in the session, it spares the post signing the whole session cookie anew."""
    response.set_cookie(
        RECEIPT_COOKIE,
        _receipt_signer().get_signature(token).decode(),
        max_age=RECEIPT_SECONDS,
        **_receipt_cookie_place(status_path),
    )


def _holds_receipt(token):
    signature = request.cookies.get(RECEIPT_COOKIE)
    return bool(signature) and _receipt_signer().verify_signature(token, signature)


def _receipt_cookie_place(path):
    secure = current_app.config["SESSION_COOKIE_SECURE"]
    return {"path": path, "secure": secure, "httponly": True, "samesite": "Lax"}


def _receipt_signer():
    return Signer(current_app.config["SECRET_KEY"], salt="order-receipt")


def _serializer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="order-form-started")


def _stamp():
    return _serializer().dumps(time.time())


def _looks_like_a_bot(form):
    """A filled honeypot, a forged start stamp, or a form posted faster than anyone types.

    A missing stamp is no evidence (a client may post only the visible fields).
    """
    if form.website.data:
        return True
    if not form.started.data:
        return False
    try:
        started = float(_serializer().loads(form.started.data))
    except (BadSignature, TypeError, ValueError):
        return True
    return time.time() - started < current_app.config["ORDER_MIN_FILL_SECONDS"]
