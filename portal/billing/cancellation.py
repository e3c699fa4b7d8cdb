"""An organisation's admin ends the organisation's SMS service (DESIGN.md §3.5)."""

from portal.billing.packages import deactivate_sms
from portal.database import write_transaction
from portal.extensions import db
from portal.models import AuditEvent, Organisation


def end_sms_service(organisation_id, *, by, reason=None):
    """Deactivate SMS for the organisation in one transaction, its row locked; returns the
    audit event that records who ended it and why. Raises SmsStateUnchanged when SMS is
    not active (a second admin was quicker)."""
    with write_transaction():
        organisation = db.session.execute(
            db.select(Organisation)
            .where(Organisation.id == organisation_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one()
        deactivate_sms(organisation, by=by, reason=reason or None)
        db.session.flush()
        return db.session.execute(
            db.select(AuditEvent)
            .where(
                AuditEvent.organisation_id == organisation.id,
                AuditEvent.action == "sms.deactivated",
            )
            .order_by(AuditEvent.id.desc())
            .limit(1)
        ).scalar_one()
