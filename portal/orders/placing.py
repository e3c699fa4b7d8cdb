"""Placing an order: one waiting order per organisation, numbered SMS-<year>-<6 digits>.

An order is the form's busiest write, so it is placed in three statements of SQLAlchemy
Core built once (one look-up, two inserts; on PostgreSQL the numbering lock before them)
on a connection of its own (`write_connection`), rather than through the ORM's session
and unit of work; the models remain the schema.
"""

import secrets
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import StrEnum
from typing import NamedTuple

from sqlalchemy import bindparam, insert, select

from portal.database import in_write_connection
from portal.extensions import db
from portal.models import OrderStatus, Organisation, SmsOrder, SmsStatus
from portal.models.audit import insert_event
from portal.models.base import utcnow
from portal.models.orders import PROMISE_HOURS
from portal.numbering import following, last_in_series, take_turns, yearly_series

ORDERS = SmsOrder.__table__
ORGANISATIONS = Organisation.__table__


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
    order: SmsOrder | None = None  # the order that already waits, loaded after the commit
    refusal: Refusal | None = None
    receipt: Receipt | None = None  # a new order: no reload after the commit to get these
    waiting_id: int | None = None


def place_order(fields):
    """Store a new order, or say why not (an order already waits, SMS is already active).

    Runs under the write lock; two posts for one organisation at the same instant
    end as one order and one refusal (the schema allows one waiting order each).
    """
    placement = in_write_connection(_place, fields)
    if placement.refusal == Refusal.ORDER_WAITING:
        waiting = db.session.get(SmsOrder, placement.waiting_id)
        return replace(placement, order=waiting)
    return placement


def promise_deadline(order):
    return order.created_at + timedelta(hours=PROMISE_HOURS)


def _place(connection, fields):
    number = fields["org_number"]
    now = utcnow()
    series = yearly_series("SMS", now)
    take_turns(series, connection)
    found = _look_up(connection, number, series)
    if found.sms_status == SmsStatus.ACTIVE:
        return Placement(number, refusal=Refusal.SMS_ACTIVE)
    if found.waiting_id is not None:
        return Placement(number, refusal=Refusal.ORDER_WAITING, waiting_id=found.waiting_id)
    order_number, token = following(series, found.last_number), secrets.token_urlsafe(32)
    order_id = connection.execute(
        INSERT_ORDER,
        {
            **fields,
            "number": order_number,
            "token": token,
            "terms_accepted_at": now,
            "created_at": now,
            "organisation_id": found.organisation_id,
        },
    ).inserted_primary_key[0]
    insert_event(
        connection,
        "order.received",
        subject_type=SmsOrder.__name__,
        subject_id=order_id,
        number=order_number,
        org_number=number,
    )
    return Placement(number, receipt=Receipt(order_id, order_number, token))


def _look_up(connection, number, series):
    """In one statement: the organisation with `number` (id and SMS state, if any), the
    order it has waiting (if any), and the last order number of `series`."""
    return connection.execute(LOOK_UP, {"org_number": number, "series": series}).one()


def _look_up_statement():
    """Built once: the form's look-up, executed with bound values on every post."""
    number = bindparam("org_number")
    organisation = ORGANISATIONS.c.org_number == number
    waiting = (ORDERS.c.org_number == number, ORDERS.c.status == OrderStatus.RECEIVED)
    return select(
        select(ORGANISATIONS.c.id).where(organisation).scalar_subquery().label("organisation_id"),
        select(ORGANISATIONS.c.sms_status)
        .where(organisation)
        .scalar_subquery()
        .label("sms_status"),
        select(ORDERS.c.id).where(*waiting).scalar_subquery().label("waiting_id"),
        last_in_series(ORDERS.c.number, bindparam("series")).label("last_number"),
    )


LOOK_UP = _look_up_statement()
INSERT_ORDER = insert(ORDERS)
