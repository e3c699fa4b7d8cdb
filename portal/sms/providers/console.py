"""The development provider: nothing leaves the machine. Every SMS is logged with the
number masked and kept in memory (the last `KEEP`), so a developer or a test can see
what would have been sent. It bills what portal/sms/text.py counts."""

import logging
import secrets
from collections import deque
from dataclasses import dataclass

from portal.sms.phone import mask
from portal.sms.providers.base import Accepted, Outgoing
from portal.sms.text import count

log = logging.getLogger(__name__)

KEEP = 1000


@dataclass(frozen=True)
class Sent:
    outgoing: Outgoing
    accepted: Accepted


class ConsoleProvider:
    name = "console"

    def __init__(self, keep: int = KEEP):
        self.sent: deque[Sent] = deque(maxlen=keep)

    def send(self, outgoing: Outgoing) -> Accepted:
        accepted = Accepted(
            provider_id=f"console-{secrets.token_hex(12)}", parts=count(outgoing.text).segments
        )
        self.sent.append(Sent(outgoing, accepted))
        log.info(
            "SMS (console, not sent) %s to %s from %s, %d part(s): %s",
            accepted.provider_id,
            mask(outgoing.to),
            outgoing.sender,
            accepted.parts,
            outgoing.text,
        )
        return accepted

    def close(self):
        """Nothing to release; here so every provider can be closed alike."""
