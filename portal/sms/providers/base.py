"""The provider interface: adapters behind one small interface (DESIGN.md §4).

A provider sends one SMS and answers with what it accepted, or raises:
`TransientError` (worth retrying later: 5xx, 429, timeouts, connection errors) or
`PermanentError` (never retried, never billed: an invalid number, a refused sender).
Both carry a Swedish reason for the sender's view of the message.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Outgoing:
    """One SMS to one number: `to` in E.164, `sender` a validated sender id."""

    to: str
    sender: str
    text: str
    callback_url: str | None = None


@dataclass(frozen=True)
class Accepted:
    """The provider took the SMS: its id (for delivery reports), the parts it bills and,
    when it says, its price in 1/10 000 of the account currency (46elks' `cost`)."""

    provider_id: str
    parts: int
    cost: int | None = None


class ProviderError(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class TransientError(ProviderError):
    """Try again later; `retry_after` seconds when the provider said so (429)."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentError(ProviderError):
    """This SMS will never be accepted as it is."""
