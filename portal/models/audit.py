"""The audit log: who did what, to what, and when."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, insert
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.base import UTCDateTime, utcnow


class AuditEvent(db.Model):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    action: Mapped[str] = mapped_column(String(100))
    subject_type: Mapped[str | None] = mapped_column(String(50))
    subject_id: Mapped[int | None]
    details: Mapped[dict] = mapped_column(JSON, default=dict)

    actor: Mapped["Person | None"] = relationship()  # noqa: F821


def record(action, *, actor=None, organisation=None, subject=None, **details):
    """Add an audit event to the current transaction; the caller commits."""
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor is not None else None,
        organisation_id=organisation.id if organisation is not None else None,
        subject_type=type(subject).__name__ if subject is not None else None,
        subject_id=subject.id if subject is not None else None,
        details=details,
    )
    db.session.add(event)
    return event


def insert_event(connection, action, *, subject_type, subject_id, **details):
    """Add an audit event to `connection`'s transaction as one Core INSERT, for a path that
    writes its own rows that way (the public order form); the caller commits."""
    connection.execute(
        INSERT_EVENT,
        {
            "action": action,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "details": details,
        },
    )


INSERT_EVENT = insert(AuditEvent.__table__)
