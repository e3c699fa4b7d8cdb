"""Billing mail: operators hear when an organisation ends its own SMS service.

Jobs take ids and render `templates/mail/*.txt` (plain Swedish, for platform staff).
"""

import logging

from flask import render_template

from portal.extensions import db
from portal.i18n import format_stockholm_datetime
from portal.mail import compose, deliver, operator_addresses, public_url
from portal.models import AuditEvent, Organisation, SmsPackage
from portal.queue import enqueue

logger = logging.getLogger(__name__)


def enqueue_deactivation_notice(event_id):
    """Queue the operators' notice of one deactivation (its audit event), once."""
    return enqueue(
        notify_operators_of_deactivation,
        event_id,
        job_id=f"sms-deactivated-notice-{event_id}",
        queue="mail",
    )


def notify_operators_of_deactivation(event_id):
    """Tell every active operator who ended which organisation's SMS, when and why."""
    event = db.session.get(AuditEvent, event_id)
    if event is None or event.action != "sms.deactivated":
        raise LookupError(f"Audit event {event_id} is not an SMS deactivation")
    operators = operator_addresses()
    if not operators:
        logger.warning("No active operator with an e-mail address to notify of %s", event_id)
        return
    organisation = db.session.get(Organisation, event.organisation_id)
    text = render_template(
        "mail/sms_deactivated_notice.txt",
        organisation=organisation,
        actor=actor_name(event.actor),
        reason=event.details.get("reason"),
        at=format_stockholm_datetime(event.at),
        package=_open_package(organisation.id),
        organisations_url=public_url("/admin/organisations"),
    )
    subject = f"{organisation.name} har avslutat SMS-tjänsten"
    deliver(compose(operators, subject, text))


def actor_name(person):
    """Who did it, as a notice may name them: never a person with protected identity."""
    if person is None:
        return "SMS-portalen"
    if person.protected_identity:
        return "Skyddad identitet"
    return person.full_name


def _open_package(organisation_id):
    return db.session.execute(
        db.select(SmsPackage).where(
            SmsPackage.organisation_id == organisation_id, SmsPackage.closed_at.is_(None)
        )
    ).scalar_one_or_none()
