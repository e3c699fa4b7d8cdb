"""The activation queue in Chromium: an order placed through /order waits in the queue, the
operator approves it through the inline confirmation, and the organisation page shows SMS
active with package 1 and invoice 1."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.demo import DEMO_PASSWORD
from portal.extensions import db
from portal.models import Invoice, OrderStatus, SmsOrder

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"
OPERATOR = "operator@sms-portalen.se"


def place_order(page, base_url):
    page.goto(f"{base_url}/order")
    page.get_by_label("Kommun", exact=True).check()
    page.get_by_label("Organisationens namn").fill("Göteborgs stad")
    page.get_by_label("Organisationsnummer").fill("212000-1355")
    page.get_by_label("Kontaktperson").fill("Åsa Öberg")
    page.get_by_label("E-postadress").fill("asa.oberg@goteborg.se")
    page.get_by_label("Telefonnummer").fill("031-365 00 00")
    page.get_by_label("Fakturaadress").fill("Göteborgs stad\nBox 1\n404 82 Göteborg")
    page.get_by_label("Fakturareferens").fill("GBG 77")
    page.get_by_label(
        "Jag är behörig att beställa för organisationen och godkänner villkoren"
    ).check()
    page.get_by_role("button", name="Skicka beställning").click()
    number = page.locator(".order-number")
    expect(number).to_have_text(re.compile(r"SMS-\d{4}-\d{6}"))
    return number.inner_text()


def log_in_as_operator(page, base_url):
    page.goto(f"{base_url}/login")
    page.get_by_label("E-postadress").fill(OPERATOR)
    page.get_by_label("Lösenord").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Välkommen")


def test_an_order_is_approved_from_the_queue(app, live_server, page):
    app.config["ORDER_MIN_FILL_SECONDS"] = 0
    number = place_order(page, live_server)
    page.context.clear_cookies()

    log_in_as_operator(page, live_server)
    page.get_by_role("navigation", name="Huvudmeny").get_by_role(
        "link", name="Beställningar"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Beställningar")
    row = page.get_by_role("row").filter(has_text=number)
    expect(row).to_contain_text("Göteborgs stad")
    expect(row).to_contain_text("212000-1355")
    expect(row).to_contain_text("h kvar")
    overdue_soon = page.get_by_role("row").filter(has_text="Sjöviks kommun")
    expect(overdue_soon.locator(".promise-at-risk")).to_contain_text("h kvar")
    page.screenshot(path=str(SCREENSHOTS / "e2e-activation-queue.png"), full_page=True)

    row.get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Beställning {number}")
    page.get_by_role("link", name="Godkänn", exact=True).click()
    panel = page.locator("#decision")
    expect(panel).to_contain_text("Paket 1 faktureras nu")
    expect(panel).to_contain_text("10\xa0000 SMS")
    expect(panel).to_contain_text("4\xa0500,00")
    assert page.url.endswith(f"/admin/orders/{_order_id(number)}")  # swapped in, no navigation
    page.screenshot(path=str(SCREENSHOTS / "e2e-activation-confirm.png"), full_page=True)

    panel.get_by_role("button", name="Bekräfta aktivering").click()
    expect(page.get_by_role("status")).to_contain_text("SMS är aktiverat för Göteborgs stad")
    expect(panel).to_contain_text("Aktiverad")

    panel.get_by_role("link", name="Göteborgs stad").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Göteborgs stad")
    expect(page.locator("#sms-panel")).to_contain_text("Aktivt")
    values = page.locator(".billing-figures .billing-figure-value")
    expect(values).to_have_text(["1", "0", "10\xa0000"])  # package, used, left
    db.session.rollback()  # end the test's own read snapshot
    (invoice,) = [
        invoice
        for invoice in db.session.scalars(db.select(Invoice))
        if invoice.organisation.org_number == "212000-1355"
    ]
    assert invoice.package.sequence == 1
    expect(page.get_by_role("table").filter(has_text="Fakturadatum")).to_contain_text(
        invoice.number
    )
    page.screenshot(path=str(SCREENSHOTS / "e2e-activation-organisation.png"), full_page=True)

    order = db.session.execute(db.select(SmsOrder).where(SmsOrder.number == number)).scalar_one()
    assert order.status == OrderStatus.ACTIVATED


def _order_id(number):
    db.session.rollback()
    return db.session.execute(db.select(SmsOrder.id).where(SmsOrder.number == number)).scalar_one()
