"""Mail jobs: the order confirmation to the orderer and the new-order notice to operators.

Jobs take ids, read the database and render `templates/mail/*.txt` (plain
Swedish; the recipients are Swedish organisations and platform staff).
"""

import logging
from datetime import timedelta

from babel.numbers import format_decimal
from flask import current_app, render_template

from portal.extensions import db
from portal.i18n import format_stockholm_datetime
from portal.mail import compose, deliver, operator_addresses, public_url
from portal.models import OrgKind, SmsOrder
from portal.models.orders import PROMISE_HOURS
from portal.queue import enqueue, enqueue_new

logger = logging.getLogger(__name__)

KIND_NAMES = {OrgKind.KOMMUN: "Kommun", OrgKind.FRISKOLA: "Fristående skola"}


def enqueue_new_order_mail(order_id):
    """From the order form, after the commit: one job that queues both mails from a
    worker (`enqueue_order_emails`), so that an order costs the request one enqueue
    instead of two, while each mail keeps its own job, sent and retried alone. Only the
    request that placed the order queues this id, so it skips the duplicate check."""
    return enqueue_new(
        queue_order_emails, order_id, job_id=f"order-emails-{order_id}", queue="mail"
    )


def queue_order_emails(order_id):
    """Job: queue both mails about a new order."""
    enqueue_order_emails(order_id)


def enqueue_order_emails(order_id):
    """Queue both mails about a new order, once each; call after the order is committed."""
    return [
        enqueue(
            send_order_confirmation,
            order_id,
            job_id=f"order-confirmation-{order_id}",
            queue="mail",
        ),
        enqueue(
            notify_operators_of_order, order_id, job_id=f"order-notice-{order_id}", queue="mail"
        ),
    ]


def send_order_confirmation(order_id):
    """Tell the orderer we have the order: its number, status link, what happens next, terms."""
    order = load_order(order_id)
    text = render_template(
        "mail/order_confirmation.txt",
        order=order,
        status_url=public_url(f"/order/{order.token}"),
        package_size=format_decimal(current_app.config["SMS_PACKAGE_SIZE"], locale="sv"),
        **_times(order),
    )
    subject = f"Vi har tagit emot er beställning av SMS ({order.number})"
    deliver(compose(order.contact_email, subject, text))


def notify_operators_of_order(order_id):
    """Tell every active operator that a new order waits, and by when it must be handled."""
    order = load_order(order_id)
    operators = operator_addresses()
    if not operators:
        logger.warning("No active operator with an e-mail address to notify of %s", order.number)
        return
    text = render_template(
        "mail/new_order_notice.txt",
        order=order,
        kind=KIND_NAMES[order.org_kind],
        queue_url=public_url("/admin/orders"),
        **_times(order),
    )
    subject = f"Ny SMS-beställning väntar: {order.org_name} ({order.number})"
    deliver(compose(operators, subject, text))


def _times(order):
    """When the order came in and when the one-day promise runs out, in Stockholm time."""
    deadline = order.created_at + timedelta(hours=PROMISE_HOURS)
    return {
        "received": format_stockholm_datetime(order.created_at),
        "deadline": format_stockholm_datetime(deadline),
    }


def load_order(order_id):
    """The order a mail job is about; a missing one fails the job loudly."""
    order = db.session.get(SmsOrder, order_id)
    if order is None:
        raise LookupError(f"SMS order {order_id} does not exist")
    return order
