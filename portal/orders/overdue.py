"""Orders about to break the one-day promise (DESIGN.md §3.2).

An order waiting for a decision is *nearly overdue* after NEARLY_OVERDUE_HOURS and
*overdue* after PROMISE_HOURS. Operators are mailed once about each late order;
`overdue_reported_at` remembers that they were.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from portal.extensions import db
from portal.models import OrderStatus, SmsOrder
from portal.models.base import utcnow
from portal.models.orders import PROMISE_HOURS

NEARLY_OVERDUE_HOURS = 20


@dataclass(frozen=True)
class LateOrder:
    order: SmsOrder
    age: timedelta

    @property
    def deadline(self) -> datetime:
        return self.order.created_at + timedelta(hours=PROMISE_HOURS)

    @property
    def overdue(self):
        return self.age > timedelta(hours=PROMISE_HOURS)

    @property
    def age_hours(self):
        return int(self.age.total_seconds() // 3600)

    @property
    def hours_late(self):
        """Whole hours past the deadline (0 in the first hour)."""
        return max(0, self.age_hours - PROMISE_HOURS)

    @property
    def hours_left(self):
        """Whole hours left of the promise, rounded down (0 in its last hour)."""
        left = timedelta(hours=PROMISE_HOURS) - self.age
        return max(0, int(left.total_seconds() // 3600))


def late_orders(now=None, *, unreported_only=False):
    """Waiting orders older than NEARLY_OVERDUE_HOURS, oldest first."""
    now = now or utcnow()
    query = (
        db.select(SmsOrder)
        .where(
            SmsOrder.status == OrderStatus.RECEIVED,
            SmsOrder.created_at < now - timedelta(hours=NEARLY_OVERDUE_HOURS),
        )
        .order_by(SmsOrder.created_at, SmsOrder.id)
    )
    if unreported_only:
        query = query.where(SmsOrder.overdue_reported_at.is_(None))
    return [LateOrder(order, now - order.created_at) for order in db.session.scalars(query)]


def mark_reported(order_ids, now=None):
    """Remember that operators were told about these orders; call inside a transaction.
    Orders marked meanwhile keep their first time. Returns how many were marked."""
    if not order_ids:
        return 0
    result = db.session.execute(
        db.update(SmsOrder)
        .where(SmsOrder.id.in_(order_ids), SmsOrder.overdue_reported_at.is_(None))
        .values(overdue_reported_at=now or utcnow())
    )
    return result.rowcount
