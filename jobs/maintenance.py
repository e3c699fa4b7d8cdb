"""Periodic upkeep run by RQ's cron scheduler (jobs/cron.py).

`report_overdue_orders` runs every 15 minutes: operators get one mail listing the
waiting orders that are older than 20 hours and were not reported before.
`reconcile` runs every minute (and as `flask reconcile`): nothing confirmed is lost
when a worker dies or Redis forgets its jobs.
"""

import logging

from flask import render_template

from jobs.sending import enqueue_batch
from portal.database import write_transaction
from portal.extensions import db
from portal.i18n import format_stockholm_datetime
from portal.mail import compose, deliver, operator_addresses, public_url
from portal.messaging.batches import due_batches, finish_if_done, unfinished_messages
from portal.messaging.dispatch import queue_dispatch
from portal.models import MessageStatus
from portal.models.base import utcnow
from portal.models.orders import PROMISE_HOURS
from portal.orders.overdue import NEARLY_OVERDUE_HOURS, late_orders, mark_reported

logger = logging.getLogger(__name__)


def report_overdue_orders():
    """Mail operators about late orders not reported yet, then mark them reported.

    The mail goes first: if it fails the job fails (RQ retries, the next run tries
    again) and nothing is marked. Returns how many orders were reported.
    """
    now = utcnow()
    late = late_orders(now, unreported_only=True)
    if not late:
        return 0
    operators = operator_addresses()
    if not operators:
        logger.warning("%d late orders, but no active operator with an e-mail address", len(late))
        return 0
    overdue = sum(item.overdue for item in late)
    text = render_template(
        "mail/overdue_orders.txt",
        late=late,
        overdue=overdue,
        promise_hours=PROMISE_HOURS,
        nearly_hours=NEARLY_OVERDUE_HOURS,
        stockholm=format_stockholm_datetime,
        queue_url=public_url("/admin/orders"),
    )
    deliver(compose(operators, _subject(len(late), overdue), text))
    with write_transaction():
        return mark_reported([item.order.id for item in late], now)


def _subject(count, overdue):
    if overdue:
        return f"Försenade SMS-beställningar: {count} väntar, {overdue} över ett dygn"
    return f"SMS-beställningar närmar sig ett dygn: {count} väntar"


def reconcile():
    """Hand unfinished sending back to the workers: dispatch queued messages, and
    re-enqueue every batch with recipients that are due and unclaimed (their job lost
    with Redis) or claimed under a lapsed lease (their worker killed). A batch whose job
    still waits keeps it (unique job ids), and claims keep two jobs on one batch from
    sending a recipient twice. Returns {"dispatched": n, "batches": n, "finished": n}."""
    now = utcnow()
    summary = {"dispatched": 0, "batches": 0, "finished": 0}
    for message_id, status in unfinished_messages():
        if status == MessageStatus.QUEUED:
            queue_dispatch(message_id)
            summary["dispatched"] += 1
            continue
        due = due_batches(message_id, now)
        db.session.rollback()
        for channel, batch_no, lapsed in due:
            enqueue_batch(message_id, channel, batch_no, lapsed=lapsed)
        summary["batches"] += len(due)
        if not due and finish_if_done(message_id):
            summary["finished"] += 1
    if any(summary.values()):
        logger.info("Reconciled sending: %s", summary)
    return summary
