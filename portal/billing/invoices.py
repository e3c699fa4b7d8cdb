"""Package invoices for the finance system: the operators' list and the CSV export.

The CSV opens as columns in Excel set to Swedish: UTF-8 with a byte order mark,
`;` between fields, decimal comma, CRLF line ends. Text that a spreadsheet would
read as a formula gets a leading apostrophe.
"""

import csv
import io
from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy.orm import joinedload

from portal.billing.money import decimal_comma, unit_price, vat_ore
from portal.extensions import db
from portal.models import Invoice, InvoiceStatus
from portal.models.base import utcnow

STOCKHOLM = ZoneInfo("Europe/Stockholm")
BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

HEADER = (
    "Fakturanummer",
    "Organisation",
    "Organisationsnummer",
    "Peppol-ID/GLN",
    "Fakturareferens",
    "Fakturaadress",
    "Paketnummer",
    "Antal SMS",
    "À-pris per SMS (kr)",
    "Belopp exkl. moms (kr)",
    "Moms 25 % (kr)",
    "Belopp inkl. moms (kr)",
    "Fakturadatum",
)


def invoices_query(since=None, *, unexported=False):
    """Invoices newest first; `since` (a date) counts from Stockholm midnight that day."""
    query = (
        db.select(Invoice)
        .options(joinedload(Invoice.organisation), joinedload(Invoice.package))
        .order_by(Invoice.created_at.desc(), Invoice.id.desc())
    )
    if since is not None:
        query = query.where(Invoice.created_at >= stockholm_midnight(since))
    if unexported:
        query = query.where(Invoice.status != InvoiceStatus.EXPORTED)
    return query


def stockholm_midnight(day):
    return datetime.combine(day, time.min, tzinfo=STOCKHOLM)


def stockholm_date(moment):
    return moment.astimezone(STOCKHOLM).date()


def row(invoice):
    """One CSV row: what a Swedish municipality's finance system needs for one invoice."""
    organisation, package = invoice.organisation, invoice.package
    vat = vat_ore(invoice.amount_ore)
    return [
        invoice.number,
        organisation.name,
        organisation.org_number,
        organisation.peppol_id or "",
        organisation.invoice_reference or "",
        one_line(organisation.invoice_address),
        str(package.sequence),
        str(package.size),
        unit_price(invoice.amount_ore, package.size),
        decimal_comma(invoice.amount_ore),
        decimal_comma(vat),
        decimal_comma(invoice.amount_ore + vat),
        stockholm_date(invoice.created_at).isoformat(),
    ]


def csv_text(invoices):
    """The export file's text, byte order mark included; encode it as UTF-8."""
    output = io.StringIO()
    writer = csv.writer(output, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows([guard(value) for value in row(invoice)] for invoice in invoices)
    return BOM + output.getvalue()


def one_line(text):
    """An address on one line: its lines joined by ', '."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return ", ".join(line.strip() for line in lines if line.strip())


def guard(value):
    """Text a spreadsheet would run as a formula gets a leading apostrophe."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def mark_exported(invoice_ids, *, now=None):
    """Mark the given invoices exported now; returns how many changed (call in a transaction)."""
    if not invoice_ids:
        return 0
    result = db.session.execute(
        db.update(Invoice)
        .where(Invoice.id.in_(invoice_ids), Invoice.status != InvoiceStatus.EXPORTED)
        .values(status=InvoiceStatus.EXPORTED, exported_at=now or utcnow())
    )
    return result.rowcount


def export_filename(today=None):
    return f"fakturor-{(today or stockholm_date(utcnow())).isoformat()}.csv"
