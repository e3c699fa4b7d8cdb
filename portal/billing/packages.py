"""Turning SMS on and off for an organisation, and opening packages with their invoices.

Every function here runs inside the caller's `write_transaction()` and only adds
to it: activation, package #n and invoice #n are committed together or not at all.
"""

from flask import current_app
from flask_babel import lazy_gettext as _l

from portal.billing.prices import require_current_price
from portal.extensions import db
from portal.models import Invoice, SmsPackage, SmsStatus
from portal.models.audit import record
from portal.models.base import utcnow
from portal.numbering import next_yearly_number


class SmsStateUnchanged(Exception):
    """Activating an active organisation, or deactivating one that is not active."""


def open_package(organisation, *, by=None, **details):
    """Close the organisation's current package and open the next one, invoiced now at the
    current price. Returns the new package (its `invoice` is set); `details` go into the
    audit event."""
    now = utcnow()
    price = require_current_price(now)
    current = current_package(organisation)
    if current is not None:
        current.closed_at = now
    sequence = (current.sequence if current else _last_sequence(organisation)) + 1
    package = SmsPackage(
        organisation_id=organisation.id,
        sequence=sequence,
        size=current_app.config["SMS_PACKAGE_SIZE"],
        used=0,
        price_ore=price.amount_ore,
        opened_at=now,
    )
    package.invoice = Invoice(
        number=next_yearly_number(Invoice.number, "F", now),
        organisation_id=organisation.id,
        amount_ore=price.amount_ore,
        created_at=now,
    )
    db.session.add(package)
    db.session.flush()
    record(
        "package.opened",
        actor=by,
        organisation=organisation,
        subject=package,
        sequence=sequence,
        invoice=package.invoice.number,
        amount_ore=price.amount_ore,
        **details,
    )
    return package


def current_package(organisation, *, for_update=False):
    """The organisation's open package (none closed_at), or None."""
    query = db.select(SmsPackage).where(
        SmsPackage.organisation_id == organisation.id, SmsPackage.closed_at.is_(None)
    )
    if for_update:
        query = query.with_for_update()
    return db.session.execute(query).scalar_one_or_none()


def activate_sms(organisation, *, by):
    """Turn SMS on. An open package with units left is continued and nothing new is
    invoiced; otherwise the next package is opened and invoiced. Returns the package
    opened now, or None when the current one continues."""
    if organisation.sms_status == SmsStatus.ACTIVE:
        raise SmsStateUnchanged(_l("SMS är redan aktiverat för organisationen."))
    organisation.sms_status = SmsStatus.ACTIVE
    organisation.sms_activated_at = utcnow()
    organisation.sms_deactivated_at = None
    current = current_package(organisation, for_update=True)
    continues = current is not None and current.remaining > 0
    opened = None if continues else open_package(organisation, by=by)
    record(
        "sms.activated",
        actor=by,
        organisation=organisation,
        subject=organisation,
        package=(opened or current).sequence,
        invoiced=opened is not None,
    )
    return opened


def deactivate_sms(organisation, *, by, reason=None):
    """Turn SMS off: nothing more is sent and no new package is opened. The invoiced
    package stays as it is (it is not refunded) and continues if SMS is turned on again.
    Returns the audit event that records it."""
    if organisation.sms_status != SmsStatus.ACTIVE:
        raise SmsStateUnchanged(_l("SMS är inte aktiverat för organisationen."))
    organisation.sms_status = SmsStatus.DEACTIVATED
    organisation.sms_deactivated_at = utcnow()
    return record(
        "sms.deactivated", actor=by, organisation=organisation, subject=organisation, reason=reason
    )


def _last_sequence(organisation):
    return db.session.scalar(
        db.select(db.func.coalesce(db.func.max(SmsPackage.sequence), 0)).where(
            SmsPackage.organisation_id == organisation.id
        )
    )
