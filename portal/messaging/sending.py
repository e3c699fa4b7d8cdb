"""Review and confirm a message (issue #6): the confirmation's numbers, the signed digest
of what was shown, and `confirm_send`, which creates the message exactly once.

The confirmation carries a one-time key (the message's `idempotency_key`) and an HMAC of
everything it showed. Confirming recomputes the numbers from the directory as it is now:
a different digest means something changed and the sender must review again. The unique
key makes a double click, a second tab or a replayed request return the same message.
"""

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, replace

from flask import current_app
from sqlalchemy.exc import IntegrityError

from portal.billing.packages import current_package
from portal.billing.usage import packages_to_open
from portal.database import write_transaction
from portal.extensions import db
from portal.messaging.attachments import MAX_COUNT, bind, own_uploads
from portal.models import Channel, Message, MessageStatus
from portal.recipients import Selection, Summary, snapshot, summarise
from portal.sms.text import SmsCount, check_length, normalise

KEY_BYTES = 24


@dataclass(frozen=True)
class Draft:
    """What the sender wrote and picked; with SMS the whole SMS is the subject.
    `attachments`: tokens of the sender's uploaded images, in order (e-mail only)."""

    subject: str
    body: str
    selection: Selection
    send_sms: bool
    attachments: tuple[str, ...] = ()

    @property
    def channels(self) -> tuple[Channel, ...]:
        return (Channel.EMAIL, Channel.SMS) if self.send_sms else (Channel.EMAIL,)


@dataclass(frozen=True)
class PackageOutlook:
    """The open package before this send, and the packages the send would open."""

    sequence: int  # 0: no package open
    size: int
    remaining: int
    opens: tuple[int, ...]  # sequences of the packages this send opens (and invoices)


@dataclass(frozen=True)
class Review:
    draft: Draft
    summary: Summary
    sms: SmsCount | None
    package: PackageOutlook | None
    key: str
    digest: str

    @property
    def email_recipients(self) -> int:
        return self.summary[Channel.EMAIL].recipients

    @property
    def sms_recipients(self) -> int:
        return self.summary[Channel.SMS].recipients if self.draft.send_sms else 0

    @property
    def segments(self) -> int:
        return self.sms.segments if self.sms else 0

    @property
    def units(self) -> int:
        return self.sms_recipients * self.segments


class ReviewChanged(Exception):
    """The confirmed form or the directory differs from what the confirmation showed;
    `review` is a fresh confirmation to show instead."""

    def __init__(self, review: Review):
        super().__init__("review changed")
        self.review = review


def new_key() -> str:
    return secrets.token_urlsafe(KEY_BYTES)


def review(draft: Draft, sender, key: str | None = None, summary: Summary | None = None) -> Review:
    """The confirmation's numbers for `draft` sent by `sender` (SelectionOutOfReach: 404),
    counted now unless `summary` is given. Images that are not (or no longer) the
    sender's unsent uploads are left out."""
    key = key or new_key()
    kept = own_uploads(draft.attachments[:MAX_COUNT], sender)
    draft = replace(draft, attachments=tuple(upload.token for upload in kept))
    if summary is None:
        summary = summarise(draft.selection, sender, draft.channels)
    sms = check_length(draft.subject) if draft.send_sms else None
    outlook = None
    if draft.send_sms:
        units = summary[Channel.SMS].recipients * sms.segments
        outlook = package_outlook(sender.organisation, units)
    return Review(draft, summary, sms, outlook, key, sign(draft, summary, outlook, key, sender.id))


def package_outlook(organisation, units: int) -> PackageOutlook:
    """How much of the open package is left and which packages `units` SMS would open
    (as billing does: a package used up exactly is followed by the next at once)."""
    size = current_app.config["SMS_PACKAGE_SIZE"]
    package = current_package(organisation)
    sequence = package.sequence if package else 0
    remaining = package.remaining if package else 0
    opened = packages_to_open(remaining, units, size)
    return PackageOutlook(
        sequence,
        package.size if package else size,
        remaining,
        tuple(range(sequence + 1, sequence + 1 + opened)),
    )


def sign(draft: Draft, summary: Summary, outlook, key: str, sender_id: int) -> str:
    """HMAC over everything the confirmation shows, bound to its key and sender."""
    shown = {
        "key": key,
        "sender": sender_id,
        "subject": normalise(draft.subject),
        "body": normalise(draft.body),
        "selection": draft.selection.to_json(),
        "sms": draft.send_sms,
        "people": summary.people,
        "channels": {
            str(channel): [part.recipients, {str(r): n for r, n in part.left_out.items()}]
            for channel, part in summary.channels.items()
        },
        "opens": list(outlook.opens) if outlook else [],
        "attachments": list(draft.attachments),
    }
    text = json.dumps(shown, sort_keys=True, separators=(",", ":")).encode()
    secret = f"messaging-review:{current_app.config['SECRET_KEY']}".encode()
    return hmac.new(secret, text, hashlib.sha256).hexdigest()


def confirm_send(draft: Draft, sender, key: str, digest: str) -> Message:
    """Create the message (queued) with its recipients frozen, in one write transaction,
    once per key: a confirmed key returns its message. ReviewChanged when `digest` is
    not what the confirmation of this draft would show now. The check and the frozen
    list come from one reading of the directory (`snapshot`); the dispatch job turns the
    list into recipient rows (portal/recipients/frozen.py)."""
    existing = message_for_key(key, sender)
    if existing is not None:
        return existing
    try:
        with write_transaction():
            selected = snapshot(draft.selection, sender, draft.channels)
            fresh = review(draft, sender, key, selected.summary)
            if not hmac.compare_digest(fresh.digest, digest):
                raise ReviewChanged(fresh)
            message = Message(
                organisation_id=sender.organisation_id,
                author_id=sender.id,
                subject=normalise(draft.subject),
                body=normalise(draft.body),
                send_sms=draft.send_sms,
                status=MessageStatus.QUEUED,
                idempotency_key=key,
                frozen_recipients=selected.frozen,
            )
            db.session.add(message)
            db.session.flush()
            images = fresh.draft.attachments
            if bind(images, sender, message.id) != len(images):
                raise _DirectoryMoved()
    except IntegrityError:
        existing = message_for_key(key, sender)
        if existing is None:
            raise ReviewChanged(review(draft, sender)) from None
        return existing
    except _DirectoryMoved:
        raise ReviewChanged(review(draft, sender)) from None
    return message


def message_for_key(key: str, sender) -> Message | None:
    """The sender's message confirmed with `key`, if any."""
    return db.session.scalar(
        db.select(Message).where(
            Message.idempotency_key == key,
            Message.organisation_id == sender.organisation_id,
            Message.author_id == sender.id,
        )
    )


class _DirectoryMoved(Exception):
    """Something the confirmation showed changed while confirming (rolls the message back)."""
