"""Cancel a message that is still being sent ("Avbryt utskick").

Cancelling stops what has not started: the message becomes cancelled and its pending
recipients cancelled (a list not yet dispatched becomes cancelled rows), in one write
transaction with the message row locked. Recipients
a worker has already claimed finish where they are (the provider may have them), and
no job claims anything more of a cancelled message.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from portal.database import locked, write_transaction
from portal.models import Message, MessageStatus, RecipientStatus
from portal.models.audit import record
from portal.models.base import utcnow
from portal.models.messages import Recipient
from portal.recipients.frozen import expand

CANCELLABLE = (MessageStatus.QUEUED, MessageStatus.SENDING)
ALREADY = {
    MessageStatus.DONE: _l("Utskicket är redan klart och kan inte avbrytas."),
    MessageStatus.CANCELLED: _l("Utskicket är redan avbrutet."),
}
NOT_SENDING = _l("Utskicket skickas inte och kan inte avbrytas.")


class CannotCancel(Exception):
    """The message is not being sent (done, cancelled, a draft); the message is Swedish."""


def cancel_message(message: Message, by) -> int:
    """Cancel `message` on behalf of `by` (the caller checked that they may); returns how
    many recipients will not get it. CannotCancel when it is not queued or sending."""
    now = utcnow()
    with write_transaction() as session:
        current = locked(Message, Message.id == message.id)
        if current.status not in CANCELLABLE:
            raise CannotCancel(str(ALREADY.get(current.status, NOT_SENDING)))
        current.status = MessageStatus.CANCELLED
        current.cancelled_at = now
        current.cancelled_by_id = by.id
        cancelled = expand(current.id, RecipientStatus.CANCELLED)
        cancelled += session.execute(
            update(Recipient)
            .where(
                Recipient.message_id == current.id,
                Recipient.status == RecipientStatus.PENDING,
            )
            .values(status=RecipientStatus.CANCELLED, retry_at=None, updated_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        record(
            "message.cancelled",
            actor=by,
            organisation=current.organisation,
            subject=current,
            count=cancelled,
        )
    return cancelled
