"""SMS orders submitted through the public order form (DESIGN.md §3.1, §3.2)."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.base import UTCDateTime, enum_column, utcnow
from portal.models.organisations import OrgKind

PROMISE_HOURS = 24


class OrderStatus(StrEnum):
    RECEIVED = "received"
    APPROVED = "approved"
    REJECTED = "rejected"
    ACTIVATED = "activated"


class SmsOrder(db.Model):
    __tablename__ = "sms_orders"
    __table_args__ = (
        CheckConstraint(
            "(status = 'rejected') = (rejection_reason IS NOT NULL)", name="reason_iff_rejected"
        ),
        # At most one order per organisation waits for a decision, even under concurrent posts.
        Index(
            "uq_sms_orders_one_waiting_per_org",
            "org_number",
            unique=True,
            sqlite_where=text("status = 'received'"),
            postgresql_where=text("status = 'received'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[OrderStatus] = mapped_column(
        enum_column(OrderStatus, "order_status"), default=OrderStatus.RECEIVED, index=True
    )
    org_kind: Mapped[OrgKind] = mapped_column(enum_column(OrgKind, "order_org_kind"))
    org_name: Mapped[str] = mapped_column(String(200))
    org_number: Mapped[str] = mapped_column(String(11), index=True)
    contact_name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(254))
    contact_phone: Mapped[str] = mapped_column(String(16))
    invoice_address: Mapped[str] = mapped_column(String(500))
    invoice_reference: Mapped[str] = mapped_column(String(100))
    peppol_id: Mapped[str | None] = mapped_column(String(50))
    comment: Mapped[str | None] = mapped_column(Text)
    terms_accepted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    overdue_reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))

    organisation: Mapped["Organisation | None"] = relationship()  # noqa: F821
    decided_by: Mapped["Person | None"] = relationship()  # noqa: F821

    def __repr__(self):
        return f"<SmsOrder {self.number} {self.status}>"
