"""Deciding an order: approval activates SMS (and invoices a package), rejection gives a reason.

Each decision is one write transaction that locks the order row and re-checks that it
still waits, so two operators deciding at once end with one decision and one refusal.
The orderer's e-mail is queued after the commit.
"""

import logging
from dataclasses import dataclass

from flask_babel import gettext as _
from redis.exceptions import RedisError

from jobs.decisions import enqueue_decision_email
from portal.activation.organisations import activation_preview
from portal.activation.queue import existing_organisation
from portal.billing.packages import activate_sms
from portal.database import in_write_transaction, locked
from portal.extensions import db
from portal.i18n import format_stockholm_datetime
from portal.models import OrderStatus, Organisation, SmsOrder, SmsPackage, SmsStatus
from portal.models.audit import record
from portal.models.base import utcnow
from portal.navigation import ORDER_STATUS_LABELS

log = logging.getLogger(__name__)


class AlreadyDecided(Exception):
    """The order no longer waits: someone else decided it first."""

    def __init__(self, order):
        super().__init__(order.number)
        self.order = order

    @property
    def message(self):
        order = self.order
        details = {
            "status": ORDER_STATUS_LABELS[order.status],
            "when": format_stockholm_datetime(order.decided_at),
        }
        if order.decided_by is None:
            return _("Beställningen har redan beslutats (%(status)s, %(when)s).", **details)
        return _(
            "Beställningen har redan beslutats av %(name)s (%(status)s, %(when)s).",
            name=order.decided_by.full_name,
            **details,
        )


@dataclass(frozen=True)
class Approval:
    order: SmsOrder
    organisation: Organisation
    package: SmsPackage | None  # the package opened and invoiced now, or None


def preview(order):
    """What `approve(order)` would do now: which organisation, package and price."""
    return activation_preview(existing_organisation(order))


def approve(order_id, operator):
    """Activate SMS for the order's organisation (created from the order, or the existing
    one with the same organisationsnummer) and mark the order activated.

    Raises AlreadyDecided, NoPrice (a package must be invoiced and there is no price)
    or LookupError; then nothing has changed.
    """
    approval = in_write_transaction(_approve, order_id, operator)
    _queue_email(approval.order)
    return approval


def reject(order_id, operator, reason):
    """Reject the order with `reason` (shown to the orderer). Raises AlreadyDecided."""
    order = in_write_transaction(_reject, order_id, operator, reason)
    _queue_email(order)
    return order


def _approve(order_id, operator):
    order = _waiting_order(order_id)
    organisation = _organisation_for(order)
    already_active = organisation.sms_active
    package = None if already_active else activate_sms(organisation, by=operator)
    order.decided_by_id = operator.id
    order.status = OrderStatus.ACTIVATED
    order.decided_at = order.activated_at = utcnow()
    order.organisation_id = organisation.id
    record(
        "order.approved",
        actor=operator,
        organisation=organisation,
        subject=order,
        number=order.number,
        package=package.sequence if package else None,
        invoice=package.invoice.number if package else None,
        already_active=already_active,
    )
    return Approval(order, organisation, package)


def _reject(order_id, operator, reason):
    order = _waiting_order(order_id)
    organisation = existing_organisation(order)
    order.decided_by_id = operator.id  # read first: it may load, and loading flushes
    order.status = OrderStatus.REJECTED
    order.rejection_reason = reason
    order.decided_at = utcnow()
    record(
        "order.rejected",
        actor=operator,
        organisation=organisation,
        subject=order,
        number=order.number,
        reason=reason,
    )
    return order


def _waiting_order(order_id):
    """The order, locked for this transaction and read as committed now; it must still wait."""
    order = locked(SmsOrder, SmsOrder.id == order_id)
    if order is None:
        raise LookupError(f"SMS order {order_id} does not exist")
    if order.status != OrderStatus.RECEIVED:
        raise AlreadyDecided(order)
    return order


def _organisation_for(order):
    """The existing organisation (locked), its invoice details refreshed from the order;
    or a new one made from the order."""
    organisation = locked(Organisation, Organisation.org_number == order.org_number)
    if organisation is None:
        organisation = Organisation(
            kind=order.org_kind,
            name=order.org_name,
            org_number=order.org_number,
            sms_status=SmsStatus.INACTIVE,
        )
        db.session.add(organisation)
    organisation.invoice_address = order.invoice_address
    organisation.invoice_reference = order.invoice_reference
    organisation.peppol_id = order.peppol_id or organisation.peppol_id
    organisation.contact_email = order.contact_email
    db.session.flush()
    return organisation


def _queue_email(order):
    """The decision stands even when Redis is down; the failure is logged."""
    try:
        enqueue_decision_email(order.id)
    except RedisError:
        log.exception("Order %s decided, but its e-mail could not be queued", order.number)
