"""Messages and their recipients: one row per person × channel, each with its own state."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    DDL,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.base import UTCDateTime, enum_column, utcnow


class MessageStatus(StrEnum):
    DRAFT = "draft"
    QUEUED = "queued"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class RecipientStatus(StrEnum):
    """Forward-only: pending → claimed → sent → delivered, or failed / cancelled."""

    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Message(db.Model):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    subject: Mapped[str] = mapped_column(String(1000))
    body: Mapped[str] = mapped_column(Text, default="")
    send_sms: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[MessageStatus] = mapped_column(
        enum_column(MessageStatus, "message_status"), default=MessageStatus.DRAFT
    )
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Confirmed but not yet dispatched: the recipients as JSON (portal/recipients/frozen.py);
    # deferred, as it may be large and only the dispatch reads it.
    frozen_recipients: Mapped[str | None] = mapped_column(Text, deferred=True)

    organisation: Mapped["Organisation"] = relationship()  # noqa: F821
    author: Mapped["Person"] = relationship(foreign_keys=[author_id])  # noqa: F821
    recipients: Mapped[list["Recipient"]] = relationship(back_populates="message")
    attachments: Mapped[list["Attachment"]] = relationship(  # noqa: F821
        back_populates="message", order_by="Attachment.id"
    )


# PostgreSQL would compress the frozen list (about 1 MB for 26,780 recipients) with pglz
# while the confirmation waits, about 20 ms; the list lives only until its dispatch, so
# it is stored uncompressed. Migration 0002 does the same.
FROZEN_UNCOMPRESSED = "ALTER TABLE messages ALTER COLUMN frozen_recipients SET STORAGE EXTERNAL"
event.listen(
    Message.__table__, "after_create", DDL(FROZEN_UNCOMPRESSED).execute_if(dialect="postgresql")
)


class Recipient(db.Model):
    __tablename__ = "recipients"
    __table_args__ = (
        UniqueConstraint("message_id", "person_id", "channel"),
        Index("ix_recipients_message_status", "message_id", "channel", "status"),
        # A claim takes the first rows of its batch (numbered per channel) by id: this
        # index gives them in that order, where the planner otherwise read every pending
        # row of the message through the status index, or walked the primary key from
        # the message's first row, for each claim.
        Index("ix_recipients_batch", "message_id", "channel", "batch_no", "id"),
        # Only sent SMS have an id to look up; rows without one, inserted and claimed
        # before they are sent, cost the index nothing.
        Index(
            "ix_recipients_provider_id",
            "provider_id",
            postgresql_where=text("provider_id IS NOT NULL"),
            sqlite_where=text("provider_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "channel"))
    address: Mapped[str] = mapped_column(String(254))
    status: Mapped[RecipientStatus] = mapped_column(
        enum_column(RecipientStatus, "recipient_status"), default=RecipientStatus.PENDING
    )
    batch_no: Mapped[int | None] = mapped_column(Integer)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider_id: Mapped[str | None] = mapped_column(String(100))
    parts: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    message: Mapped[Message] = relationship(back_populates="recipients")
    person: Mapped["Person"] = relationship()  # noqa: F821
