"""How far messages have come: per channel, how many recipients are in each state.

One grouped query answers for any number of messages, so the list of messages and the
message page cost the same single query. A message not yet dispatched has its
recipients in its frozen list, all pending (portal/recipients/frozen.py).
"""

from dataclasses import dataclass, field

from portal.extensions import db
from portal.models import Channel, MessageStatus, RecipientStatus
from portal.recipients.frozen import recipient_counts

UNFINISHED = (RecipientStatus.PENDING, RecipientStatus.CLAIMED)
RUNNING = (MessageStatus.QUEUED, MessageStatus.SENDING)


@dataclass
class ChannelProgress:
    channel: Channel
    counts: dict[RecipientStatus, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def finished(self) -> int:
        """Recipients whose sending is over, whatever became of it."""
        return self.total - sum(self.counts.get(status, 0) for status in UNFINISHED)

    @property
    def failed(self) -> int:
        return self.counts.get(RecipientStatus.FAILED, 0)

    @property
    def percent(self) -> int:
        return 100 * self.finished // self.total if self.total else 100


def channels_of(message) -> tuple[Channel, ...]:
    return (Channel.EMAIL, Channel.SMS) if message.send_sms else (Channel.EMAIL,)


def progress(messages) -> dict[int, list[ChannelProgress]]:
    """Per message id, the progress of each of its channels (one query)."""
    result = {
        message.id: {channel: ChannelProgress(channel) for channel in channels_of(message)}
        for message in messages
    }
    if not result:
        return {}
    rows = db.session.execute(recipient_counts(list(result))).all()
    for message_id, channel, status, count in rows:
        part = result[message_id].setdefault(Channel(channel), ChannelProgress(Channel(channel)))
        status = RecipientStatus(status)
        part.counts[status] = part.counts.get(status, 0) + count
    return {message_id: list(parts.values()) for message_id, parts in result.items()}


def percent_done(parts: list[ChannelProgress]) -> int:
    """How much of the whole message is finished, over all its channels."""
    total = sum(part.total for part in parts)
    return 100 * sum(part.finished for part in parts) // total if total else 100


def is_running(message) -> bool:
    """Still being sent: the page keeps polling and offers "Avbryt utskick"."""
    return message.status in RUNNING
