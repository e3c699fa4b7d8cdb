"""Usage in Chromium: the demo kommun's admin sees SMS per month as a chart with its
table, opens an invoice and reads which messages used the package; the operator
reaches the same ledger from the invoice list."""

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.database import write_transaction
from portal.extensions import db
from portal.models import Invoice, Organisation, SmsPackage, UsageEntry
from portal.models.base import utcnow
from tests.e2e.test_billing import ADMIN, OPERATOR, log_in
from tests.test_billing_usage import new_message

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"
SENT = [  # (days ago, subject, SMS parts accepted)
    (150, "Välkomna tillbaka efter sommarlovet", 2_310),
    (120, "Utvecklingssamtal vecka 42", 1_480),
    (95, "Höstlov: fritids har öppet", 905),
    (60, "Lucia i aulan klockan 8", 2_760),
    (30, "Skolstart efter jullovet", 1_930),
    (2, "Studiedag på fredag", 1_240),
]


@pytest.fixture
def usage(live_server, make):
    """Six messages of the demo kommun, charged on their days over the last months;
    returns the kommun's invoice numbers by package."""
    kommun = db.session.execute(
        db.select(Organisation).where(Organisation.name == "Exempelkommun")
    ).scalar_one()
    for days, subject, units in SENT:
        message = new_message(make, kommun, subject, units)
        with write_transaction():
            db.session.execute(
                db.update(UsageEntry)
                .where(UsageEntry.message_id == message.id)
                .values(created_at=utcnow() - timedelta(days=days))
            )
    return db.session.scalars(
        db.select(Invoice.number)
        .join(SmsPackage, SmsPackage.id == Invoice.package_id)
        .where(Invoice.organisation_id == kommun.id)
        .order_by(SmsPackage.sequence)
    ).all()


def test_the_admin_sees_usage_per_month_and_the_ledger_behind_an_invoice(page, live_server, usage):
    page.set_viewport_size({"width": 1100, "height": 900})
    log_in(page, live_server, ADMIN)
    page.get_by_role("link", name="Fakturering").click()

    chart = page.get_by_role("img", name="SMS per månad, de senaste 12 månaderna")
    expect(chart).to_be_visible()
    expect(page.get_by_role("heading", name="Förbrukning")).to_be_visible()
    expect(page.get_by_role("table", name="SMS och meddelanden per månad")).to_contain_text(
        "10\u00a0625"
    )
    page.screenshot(path=str(SCREENSHOTS / "e2e-billing-usage.png"), full_page=True)

    first, _second = usage
    page.get_by_role("link", name=first).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Faktura")
    ledger = page.get_by_role("table", name="Meddelanden som använde SMS ur paket 1")
    expect(ledger).to_contain_text("Välkomna tillbaka efter sommarlovet")
    expect(page.locator("#ledger-total")).to_have_text("10\u00a0000")
    page.screenshot(path=str(SCREENSHOTS / "e2e-billing-invoice.png"), full_page=True)

    page.set_viewport_size({"width": 320, "height": 800})
    page.get_by_role("link", name="Tillbaka till SMS och fakturering").click()
    expect(chart).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "e2e-billing-usage-320.png"), full_page=True)


def test_the_operator_opens_the_ledger_from_the_invoice_list(page, live_server, usage):
    log_in(page, live_server, OPERATOR)
    page.goto(f"{live_server}/admin/invoices")
    page.get_by_role("link", name=usage[0]).click()
    expect(page.get_by_role("link", name="Exempelkommun")).to_be_visible()
    expect(page.locator("#ledger-total")).to_have_text("10\u00a0000")
