"""The activation queue: tabs of orders, the one-day promise, and what each order refers to."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import OrderStatus, Organisation, SmsOrder
from portal.models.base import utcnow
from portal.orders.placing import promise_deadline

ORDERS_PER_PAGE = 25
# The overdue watch reports orders older than 20 h: from then on the promise is at risk.
AT_RISK = timedelta(hours=4)


class Tab(StrEnum):
    WAITING = "waiting"
    APPROVED = "approved"
    REJECTED = "rejected"
    ALL = "all"


TAB_LABELS = {
    Tab.WAITING: _l("Väntande"),
    Tab.APPROVED: _l("Godkända"),
    Tab.REJECTED: _l("Avslagna"),
    Tab.ALL: _l("Alla"),
}

_TAB_STATUSES = {
    Tab.WAITING: (OrderStatus.RECEIVED,),
    Tab.APPROVED: (OrderStatus.APPROVED, OrderStatus.ACTIVATED),
    Tab.REJECTED: (OrderStatus.REJECTED,),
}


def tab_from(value):
    """The tab a query parameter names; anything else is the default, Väntande."""
    try:
        return Tab(value)
    except ValueError:
        return Tab.WAITING


def orders_in(tab):
    """A select of the tab's orders: waiting ones oldest first, the others newest first."""
    query = db.select(SmsOrder)
    if tab in _TAB_STATUSES:
        query = query.where(SmsOrder.status.in_(_TAB_STATUSES[tab]))
    if tab == Tab.WAITING:
        return query.order_by(SmsOrder.created_at, SmsOrder.id)
    return query.order_by(SmsOrder.created_at.desc(), SmsOrder.id.desc())


def waiting_count():
    """How many orders wait for a decision (the number the navigation shows)."""
    return db.session.scalar(
        db.select(db.func.count(SmsOrder.id)).where(SmsOrder.status == OrderStatus.RECEIVED)
    )


def organisations_by_number(orders):
    """{org_number: Organisation} for the orders whose organisation already exists."""
    numbers = {order.org_number for order in orders}
    if not numbers:
        return {}
    found = db.session.scalars(
        db.select(Organisation).where(Organisation.org_number.in_(numbers))
    ).all()
    return {organisation.org_number: organisation for organisation in found}


def existing_organisation(order):
    """The organisation with the order's organisationsnummer, or None."""
    return organisations_by_number([order]).get(order.org_number)


class PromiseState(StrEnum):
    ON_TIME = "on-time"
    AT_RISK = "at-risk"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class Promise:
    """How much is left of the one-day promise for a waiting order (negative when late)."""

    deadline: datetime
    left: timedelta

    @property
    def state(self):
        if self.left <= timedelta(0):
            return PromiseState.OVERDUE
        if self.left <= AT_RISK:
            return PromiseState.AT_RISK
        return PromiseState.ON_TIME

    @property
    def label(self):
        """'18 h kvar', '45 min kvar', 'Försenad 3 h', 'Försenad 20 min'."""
        if self.state == PromiseState.OVERDUE:
            hours, minutes = _hours_and_minutes(-self.left)
            if hours:
                return _("Försenad %(hours)d h", hours=hours)
            return _("Försenad %(minutes)d min", minutes=minutes)
        hours, minutes = _hours_and_minutes(self.left)
        if hours:
            return _("%(hours)d h kvar", hours=hours)
        return _("%(minutes)d min kvar", minutes=minutes)


def promise(order, now=None):
    deadline = promise_deadline(order)
    return Promise(deadline=deadline, left=deadline - (now or utcnow()))


def _hours_and_minutes(span):
    """Whole hours, or when under an hour whole minutes (at least 1)."""
    seconds = int(span.total_seconds())
    if seconds >= 3600:
        return seconds // 3600, 0
    return 0, max(1, seconds // 60)
