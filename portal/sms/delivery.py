"""Delivery reports: an SMS recipient moves from sent to delivered or failed, once.

Status only moves forward: a report applies to a recipient that is `sent` (or still
`claimed` once its provider id is written) and never to one that is delivered, failed
or cancelled, so duplicate and out-of-order reports change nothing.

46elks may report before the worker has written the provider id (workers record their
results in chunks). Such an early report is kept in Redis for a while (`dlr:<id>`), and
the pipeline takes and applies them right after it writes a chunk's provider ids:

    write the chunk's provider ids (commit)
    apply_deliveries(take_early_reports(ids)) (commit)

`receive_report` closes the race from its side by storing first and applying again.
"""

import logging

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from portal.extensions import db
from portal.models import Channel, Recipient, RecipientStatus
from portal.queue import redis_connection

log = logging.getLogger(__name__)

DELIVERED = "delivered"
FAILED = "failed"
SENT = "sent"
FINAL = {DELIVERED: RecipientStatus.DELIVERED, FAILED: RecipientStatus.FAILED}
REPORTED = (SENT, DELIVERED, FAILED)
UNDELIVERED = _l("Kunde inte levereras till mottagarens telefon")
EARLY_PREFIX = "dlr:"
EARLY_SECONDS = 3600
_OPEN = (RecipientStatus.SENT, RecipientStatus.CLAIMED)


def apply_delivery(provider_id: str, status: str) -> bool:
    """Apply one final report (`delivered` or `failed`); True when a recipient moved.
    The caller commits."""
    return apply_deliveries({provider_id: status}) > 0


def apply_deliveries(reports: dict[str, str]) -> int:
    """Apply final reports {provider id: status} in at most two UPDATEs; returns how many
    recipients moved. The caller commits."""
    moved = 0
    for status, recipient_status in FINAL.items():
        ids = [provider_id for provider_id, reported in reports.items() if reported == status]
        if not ids:
            continue
        values = {"status": recipient_status}
        if recipient_status == RecipientStatus.FAILED:
            values["error"] = str(UNDELIVERED)
        result = db.session.execute(
            update(Recipient)
            .where(
                Recipient.provider_id.in_(ids),
                Recipient.channel == Channel.SMS,
                Recipient.status.in_(_OPEN),
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        moved += result.rowcount
    return moved


def receive_report(provider_id: str, status: str) -> None:
    """What the webhook does with a well-formed report: apply a final status, or keep it
    for the pipeline when no recipient has this provider id yet. `sent` changes nothing."""
    if status not in FINAL:
        return
    if apply_delivery(provider_id, status) or _known(provider_id):
        db.session.commit()
        return
    redis_connection().set(EARLY_PREFIX + provider_id, status, ex=EARLY_SECONDS, nx=True)
    log.info("Delivery report %s for unknown SMS id %s kept for the pipeline", status, provider_id)
    if apply_delivery(provider_id, status):
        redis_connection().delete(EARLY_PREFIX + provider_id)
    db.session.commit()


def _known(provider_id: str) -> bool:
    query = select(Recipient.id).where(
        Recipient.provider_id == provider_id, Recipient.channel == Channel.SMS
    )
    return db.session.scalar(query.limit(1)) is not None


def take_early_reports(provider_ids: list[str]) -> dict[str, str]:
    """The early reports kept for these provider ids, removed from Redis in one round
    trip: {provider id: status}."""
    if not provider_ids:
        return {}
    keys = [EARLY_PREFIX + provider_id for provider_id in provider_ids]
    pipeline = redis_connection().pipeline(transaction=True)
    pipeline.mget(keys)
    pipeline.delete(*keys)
    values, _deleted = pipeline.execute()
    return {
        provider_id: value.decode()
        for provider_id, value in zip(provider_ids, values, strict=True)
        if value is not None
    }
