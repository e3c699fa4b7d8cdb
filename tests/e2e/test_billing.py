"""Billing in Chromium: the demo kommun's admin sees package #1 and invoice #1, ends the
SMS service through the inline confirmation and is pointed to /order; the demo operator
opens the invoice list."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.demo import DEMO_PASSWORD
from portal.extensions import db
from portal.models import Invoice, Organisation, SmsStatus

pytestmark = pytest.mark.e2e

ADMIN = "admin@exempelkommun.se"
OPERATOR = "operator@sms-portalen.se"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"


def log_in(page, base_url, email):
    page.goto(f"{base_url}/login")
    page.get_by_label("E-postadress").fill(email)
    page.get_by_label("Lösenord").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    expect(page.get_by_role("button", name="Logga ut")).to_be_visible()


def test_the_admin_ends_the_sms_service(page, live_server):
    invoice = db.session.execute(db.select(Invoice)).scalar_one()
    log_in(page, live_server, ADMIN)
    page.get_by_role("link", name="Fakturering").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("SMS och fakturering")
    expect(page.locator("#sms-status")).to_have_text("Aktivt")
    expect(page.get_by_text("Kvar i paket 1")).to_be_visible()
    expect(page.get_by_role("cell", name=invoice.number)).to_be_visible()
    expect(page.get_by_role("cell", name="5\u00a0625,00\u00a0kr")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "e2e-billing.png"), full_page=True)

    page.get_by_role("link", name="Avsluta SMS-tjänsten").click()
    confirmation = page.locator("#deactivate-confirm")
    expect(confirmation).to_contain_text("återbetalas inte")
    expect(confirmation).to_contain_text("Inga nya paket öppnas")
    assert page.url == f"{live_server}/billing"  # inline, not a new page
    page.screenshot(path=str(SCREENSHOTS / "e2e-billing-confirm.png"), full_page=True)
    page.get_by_label("Anledning (valfritt)").fill("Vi provar en annan tjänst.")
    page.get_by_role("button", name="Ja, avsluta SMS-tjänsten").click()

    expect(page.get_by_role("status")).to_contain_text("SMS-tjänsten är avslutad")
    expect(page.locator("#sms-status")).to_have_text("Avslutat")
    expect(page.get_by_role("link", name="Beställ SMS")).to_have_attribute("href", "/order")
    expect(page.get_by_role("link", name="Avsluta SMS-tjänsten")).to_have_count(0)
    page.screenshot(path=str(SCREENSHOTS / "e2e-billing-ended.png"), full_page=True)
    db.session.rollback()  # end the test's own read snapshot
    kommun = db.session.execute(
        db.select(Organisation).where(Organisation.name == "Exempelkommun")
    ).scalar_one()
    assert kommun.sms_status == SmsStatus.DEACTIVATED


def test_the_operator_opens_the_invoices(page, live_server):
    invoice = db.session.execute(db.select(Invoice)).scalar_one()
    log_in(page, live_server, OPERATOR)
    page.get_by_role("link", name="Fakturor").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Fakturor")
    expect(page.get_by_role("cell", name=invoice.number)).to_be_visible()
    expect(page.get_by_role("link", name="Ladda ner CSV")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "e2e-admin-invoices.png"), full_page=True)

    with page.expect_download() as download:
        page.get_by_role("link", name="Ladda ner CSV").click()
    content = Path(download.value.path()).read_bytes()
    assert content.startswith(b"\xef\xbb\xbfFakturanummer;")
    assert invoice.number.encode() in content


def test_billing_fits_a_narrow_screen(page, live_server):
    page.set_viewport_size({"width": 320, "height": 640})
    log_in(page, live_server, ADMIN)
    page.goto(f"{live_server}/billing")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.screenshot(path=str(SCREENSHOTS / "e2e-billing-320.png"), full_page=True)
