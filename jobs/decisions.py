"""The decision mail: tells the orderer that their SMS order was approved or rejected.

The job takes the order's id and writes what the database says now, so a retry
sends the same mail. Plain Swedish, as the other mails (`templates/mail/*.txt`).
"""

import logging

from babel.numbers import format_decimal
from flask import current_app, render_template

from jobs.mail import KIND_NAMES, load_order
from portal.billing.money import kronor
from portal.extensions import db
from portal.i18n import format_stockholm_datetime
from portal.mail import compose, deliver, public_url
from portal.models import AuditEvent, Invoice, OrderStatus, SmsOrder
from portal.queue import enqueue

logger = logging.getLogger(__name__)


def enqueue_decision_email(order_id):
    """Queue the decision mail for a decided, committed order, once."""
    return enqueue(send_decision_email, order_id, job_id=f"order-decision-{order_id}", queue="mail")


def send_decision_email(order_id):
    order = load_order(order_id)
    context = {
        "order": order,
        "kind": KIND_NAMES[order.org_kind],
        "status_url": public_url(f"/order/{order.token}"),
        "decided": format_stockholm_datetime(order.decided_at),
    }
    if order.status == OrderStatus.ACTIVATED:
        text = render_template("mail/order_approved.txt", **context, **_package(order))
        subject = f"SMS är aktiverat för {order.org_name} ({order.number})"
    elif order.status == OrderStatus.REJECTED:
        text = render_template("mail/order_rejected.txt", **context)
        subject = f"Er beställning av SMS har inte godkänts ({order.number})"
    else:
        logger.info("Order %s is not decided; no decision mail sent", order.number)
        return
    deliver(compose(order.contact_email, subject, text))


def _package(order):
    """The invoice the approval made (from its audit event), or None when a package went on."""
    event = db.session.scalars(
        db.select(AuditEvent)
        .where(
            AuditEvent.action == "order.approved",
            AuditEvent.subject_type == SmsOrder.__name__,
            AuditEvent.subject_id == order.id,
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()
    number = (event.details or {}).get("invoice") if event else None
    invoice = (
        db.session.execute(db.select(Invoice).where(Invoice.number == number)).scalar_one_or_none()
        if number
        else None
    )
    return {
        "invoice": invoice,
        "amount": kronor(invoice.amount_ore) if invoice else None,
        "package_size": format_decimal(
            invoice.package.size if invoice else current_app.config["SMS_PACKAGE_SIZE"],
            locale="sv",
        ),
    }
