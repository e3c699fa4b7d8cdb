"""An organisation's admin ends the organisation's SMS service (DESIGN.md §3.5)."""

from portal.billing.packages import deactivate_sms
from portal.database import locked, write_transaction
from portal.extensions import db
from portal.models import Organisation


def end_sms_service(organisation_id, *, by, reason=None):
    """Deactivate SMS for the organisation in one transaction, its row locked; returns the
    audit event that records who ended it and why. Raises SmsStateUnchanged when SMS is
    not active (a second admin was quicker)."""
    with write_transaction():
        organisation = locked(Organisation, Organisation.id == organisation_id)
        if organisation is None:
            raise LookupError(f"Organisation {organisation_id} does not exist")
        event = deactivate_sms(organisation, by=by, reason=reason or None)
        db.session.flush()
        return event
