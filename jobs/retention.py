"""Retention: the texts, addresses and images of finished messages are erased once they
have been finished for RETENTION_DAYS (run daily by jobs/cron.py).

What goes: the message's heading and body (and any frozen recipient list still on it),
every recipient's address, provider id and error text, and the attachments' file names
and contents; `Message.erased_at` records when. What stays: the message and recipient
rows with their statuses, parts and times, so counts and statistics still add up, and
the billing ledger (`usage_entries`), which holds no personal data. Bulk SQL in bounded
transactions; running it again changes nothing.
"""

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import func

from portal.database import write_transaction
from portal.extensions import db
from portal.models import Attachment, Message, MessageStatus, Recipient
from portal.models.base import utcnow

logger = logging.getLogger(__name__)

FINISHED = (MessageStatus.DONE, MessageStatus.CANCELLED)
MESSAGES_PER_TRANSACTION = 500


def erase_finished_messages(now=None):
    """Erase what retention says must go; returns how many messages were erased."""
    now = now or utcnow()
    cutoff = now - timedelta(days=current_app.config["RETENTION_DAYS"])
    erased = 0
    while ids := _due(cutoff, MESSAGES_PER_TRANSACTION):
        with write_transaction():
            erased += _erase(ids, now)
    if erased:
        logger.info("Retention erased the contents of %d finished messages", erased)
    return erased


def _due(cutoff, limit):
    """Ids of finished, not yet erased messages with no activity since `cutoff`."""
    recent_activity = (
        db.select(Recipient.id)
        .where(Recipient.message_id == Message.id, Recipient.updated_at >= cutoff)
        .exists()
    )
    return db.session.scalars(
        db.select(Message.id)
        .where(
            Message.status.in_(FINISHED),
            Message.erased_at.is_(None),
            func.coalesce(Message.cancelled_at, Message.sent_at, Message.created_at) < cutoff,
            ~recent_activity,
        )
        .order_by(Message.id)
        .limit(limit)
    ).all()


def _erase(ids, now):
    session = db.session
    erased = session.execute(
        db.update(Message)
        .where(Message.id.in_(ids), Message.erased_at.is_(None))
        .values(subject="", body="", frozen_recipients=None, erased_at=now)
    ).rowcount
    session.execute(
        db.update(Recipient)
        .where(Recipient.message_id.in_(ids))
        .values(address="", provider_id=None, error=None, updated_at=Recipient.updated_at)
    )
    session.execute(
        db.update(Attachment).where(Attachment.message_id.in_(ids)).values(filename="", data=b"")
    )
    return erased
