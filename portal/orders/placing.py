"""Placing an order: one waiting order per organisation, numbered SMS-<year>-<6 digits>."""

import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import NamedTuple

from portal.database import in_write_transaction
from portal.extensions import db
from portal.models import OrderStatus, Organisation, SmsOrder, SmsStatus
from portal.models.audit import record
from portal.models.base import utcnow
from portal.models.orders import PROMISE_HOURS
from portal.numbering import next_yearly_number


class Refusal(StrEnum):
    ORDER_WAITING = "order_waiting"
    SMS_ACTIVE = "sms_active"


class Receipt(NamedTuple):
    """A new order's id, number and status link token, as read before the commit."""

    order_id: int
    number: str
    token: str


@dataclass(frozen=True)
class Placement:
    org_number: str
    order: SmsOrder | None
    refusal: Refusal | None = None
    receipt: Receipt | None = None  # a new order: no reload after the commit to get these


def place_order(fields):
    """Store a new order, or say why not (an order already waits, SMS is already active).

    Runs under the write lock; two posts for one organisation at the same instant
    end as one order and one refusal (the schema allows one waiting order each).
    """
    return in_write_transaction(_place, fields)


def promise_deadline(order):
    return order.created_at + timedelta(hours=PROMISE_HOURS)


def _place(fields):
    number = fields["org_number"]
    organisation = db.session.execute(
        db.select(Organisation).where(Organisation.org_number == number)
    ).scalar_one_or_none()
    if organisation is not None and organisation.sms_status == SmsStatus.ACTIVE:
        return Placement(number, None, Refusal.SMS_ACTIVE)
    waiting = db.session.execute(
        db.select(SmsOrder).where(
            SmsOrder.org_number == number, SmsOrder.status == OrderStatus.RECEIVED
        )
    ).scalar_one_or_none()
    if waiting is not None:
        return Placement(number, waiting, Refusal.ORDER_WAITING)
    now = utcnow()
    order = SmsOrder(
        **fields,
        number=next_yearly_number(SmsOrder.number, "SMS", now),
        token=secrets.token_urlsafe(32),
        terms_accepted_at=now,
        created_at=now,
        organisation_id=organisation.id if organisation is not None else None,
    )
    db.session.add(order)
    db.session.flush()
    record("order.received", subject=order, number=order.number, org_number=number)
    return Placement(number, order, receipt=Receipt(order.id, order.number, order.token))
