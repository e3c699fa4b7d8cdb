"""Organisations for operators: finding them, their packages and audit trail, and turning
SMS off and on again."""

import re
from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l

from portal.billing.packages import (
    SmsStateUnchanged,
    activate_sms,
    current_package,
    deactivate_sms,
)
from portal.billing.prices import current_price
from portal.database import in_write_transaction, locked
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Organisation,
    PackagePrice,
    SmsOrder,
    SmsPackage,
    SmsStatus,
)

ORGANISATIONS_PER_PAGE = 25
EVENTS_PER_PAGE = 25
MAX_QUERY_LENGTH = 100

_DIGITS = re.compile(r"\d")


@dataclass(frozen=True)
class Preview:
    """What activating SMS for an organisation (None: one made from an order) will do."""

    organisation: Organisation | None
    package_size: int
    price: PackagePrice | None
    continues: SmsPackage | None  # the open package that goes on; then nothing is invoiced
    next_sequence: int

    @property
    def already_active(self):
        return self.organisation is not None and self.organisation.sms_active

    @property
    def invoices(self):
        return self.continues is None and not self.already_active

    @property
    def blocked_by_price(self):
        return self.invoices and self.price is None


def activation_preview(organisation):
    package, last = None, 0
    if organisation is not None:
        package = current_package(organisation)
        last = db.session.scalar(
            db.select(db.func.coalesce(db.func.max(SmsPackage.sequence), 0)).where(
                SmsPackage.organisation_id == organisation.id
            )
        )
    return Preview(
        organisation=organisation,
        package_size=current_app.config["SMS_PACKAGE_SIZE"],
        price=current_price(),
        continues=package if package is not None and package.remaining > 0 else None,
        next_sequence=last + 1,
    )


def search(query="", state=None):
    """Organisations whose name or organisationsnummer contains `query`, in `state`, by name."""
    select = db.select(Organisation).order_by(Organisation.name, Organisation.id)
    if state is not None:
        select = select.where(Organisation.sms_status == state)
    query = query.strip()
    if query:
        conditions = [Organisation.name.icontains(query, autoescape=True)]
        digits = "".join(_DIGITS.findall(query))
        if digits and len(digits) == len(query.replace("-", "").replace(" ", "")):
            number = f"{digits[:6]}-{digits[6:]}" if len(digits) > 6 else digits
            conditions.append(Organisation.org_number.contains(number, autoescape=True))
        select = select.where(db.or_(*conditions))
    return select


def state_from(value):
    """The SMS state a query parameter names, or None (all)."""
    try:
        return SmsStatus(value)
    except ValueError:
        return None


def packages(organisation):
    """Every package of the organisation with its invoice, newest first."""
    return db.session.scalars(
        db.select(SmsPackage)
        .where(SmsPackage.organisation_id == organisation.id)
        .order_by(SmsPackage.sequence.desc())
    ).all()


def orders(organisation):
    """Every order placed with the organisation's organisationsnummer, newest first."""
    return db.session.scalars(
        db.select(SmsOrder)
        .where(SmsOrder.org_number == organisation.org_number)
        .order_by(SmsOrder.created_at.desc(), SmsOrder.id.desc())
    ).all()


def audit_trail(organisation):
    """A select of the organisation's audit events, its orders' included, newest first."""
    order_ids = db.select(SmsOrder.id).where(SmsOrder.org_number == organisation.org_number)
    return (
        db.select(AuditEvent)
        .where(
            db.or_(
                AuditEvent.organisation_id == organisation.id,
                db.and_(
                    AuditEvent.subject_type == SmsOrder.__name__,
                    AuditEvent.subject_id.in_(order_ids),
                ),
            )
        )
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    )


def deactivate(organisation_id, operator, reason=None):
    """Turn SMS off for the organisation. Raises SmsStateUnchanged when it is not active."""
    return in_write_transaction(_deactivate, organisation_id, operator, reason)


def reactivate(organisation_id, operator):
    """Turn SMS on again for an organisation that had it. The open package continues when it
    has units left; otherwise the next one is invoiced (NoPrice without a price). Raises
    SmsStateUnchanged when SMS is active, or was never activated (that takes an order).
    Returns the package opened now, or None."""
    return in_write_transaction(_reactivate, organisation_id, operator)


def _deactivate(organisation_id, operator, reason):
    organisation = _locked(organisation_id)
    deactivate_sms(organisation, by=operator, reason=reason)
    return organisation


def _reactivate(organisation_id, operator):
    organisation = _locked(organisation_id)
    if organisation.sms_status == SmsStatus.INACTIVE:
        raise SmsStateUnchanged(
            _l("SMS har aldrig aktiverats för organisationen. Det görs genom en beställning.")
        )
    return activate_sms(organisation, by=operator)


def _locked(organisation_id):
    organisation = locked(Organisation, Organisation.id == organisation_id)
    if organisation is None:
        raise LookupError(f"Organisation {organisation_id} does not exist")
    return organisation
