"""Packages of SMS units, their invoices, the price list and the usage ledger (§3.5).

Money is stored in öre (integer hundredths of a krona), never as floats.
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.base import UTCDateTime, enum_column, utcnow


class PackagePrice(db.Model):
    """The operator's price per package; the newest row in effect is the current price."""

    __tablename__ = "package_prices"
    __table_args__ = (CheckConstraint("amount_ore >= 0", name="not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    amount_ore: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class SmsPackage(db.Model):
    __tablename__ = "sms_packages"
    __table_args__ = (
        UniqueConstraint("organisation_id", "sequence"),
        CheckConstraint("size > 0", name="size_positive"),
        CheckConstraint("used >= 0 AND used <= size", name="used_within_size"),
        CheckConstraint("sequence >= 1", name="sequence_from_one"),
        CheckConstraint("price_ore >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    sequence: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    used: Mapped[int] = mapped_column(Integer, default=0)
    price_ore: Mapped[int] = mapped_column(Integer)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organisation: Mapped["Organisation"] = relationship()  # noqa: F821
    invoice: Mapped["Invoice | None"] = relationship(back_populates="package")

    @property
    def remaining(self):
        return self.size - self.used


class InvoiceStatus(StrEnum):
    OPEN = "open"
    EXPORTED = "exported"


class Invoice(db.Model):
    """One invoice per package, created in the same transaction that opens it."""

    __tablename__ = "invoices"
    __table_args__ = (CheckConstraint("amount_ore >= 0", name="not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    package_id: Mapped[int] = mapped_column(
        ForeignKey("sms_packages.id", ondelete="RESTRICT"), unique=True
    )
    amount_ore: Mapped[int] = mapped_column(Integer)
    status: Mapped[InvoiceStatus] = mapped_column(
        enum_column(InvoiceStatus, "invoice_status"), default=InvoiceStatus.OPEN
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    exported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organisation: Mapped["Organisation"] = relationship()  # noqa: F821
    package: Mapped[SmsPackage] = relationship(back_populates="invoice")


class UsageEntry(db.Model):
    """The ledger: units of one message drawn from one package, one row per pair that
    later charges add to. Sum of units = billed parts = sum of the packages' `used`."""

    __tablename__ = "usage_entries"
    __table_args__ = (
        UniqueConstraint("message_id", "package_id"),
        CheckConstraint("units > 0", name="units_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("sms_packages.id"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    units: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    message: Mapped["Message"] = relationship()  # noqa: F821
