"""Organisations that buy SMS: municipalities (kommuner) and independent schools."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.base import UTCDateTime, enum_column, utcnow


class OrgKind(StrEnum):
    KOMMUN = "kommun"
    FRISKOLA = "friskola"


class SmsStatus(StrEnum):
    INACTIVE = "inactive"
    ACTIVE = "active"
    DEACTIVATED = "deactivated"


class Organisation(db.Model):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OrgKind] = mapped_column(enum_column(OrgKind, "org_kind"))
    name: Mapped[str] = mapped_column(String(200))
    org_number: Mapped[str] = mapped_column(String(11), unique=True)
    sms_status: Mapped[SmsStatus] = mapped_column(
        enum_column(SmsStatus, "sms_status"), default=SmsStatus.INACTIVE
    )
    sms_activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sms_deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sms_sender: Mapped[str | None] = mapped_column(String(11))
    invoice_address: Mapped[str | None] = mapped_column(String(500))
    invoice_reference: Mapped[str | None] = mapped_column(String(100))
    peppol_id: Mapped[str | None] = mapped_column(String(50))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    schools: Mapped[list["School"]] = relationship(  # noqa: F821
        back_populates="organisation", order_by="School.name"
    )

    @property
    def sms_active(self):
        return self.sms_status == SmsStatus.ACTIVE

    def __repr__(self):
        return f"<Organisation {self.org_number} {self.name!r}>"
