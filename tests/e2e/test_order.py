"""Ordering SMS in Chromium: fill the form by its labels, see an inline error for a bad
organisationsnummer, fix it, submit, read the receipt and open the private status link."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import OrderStatus, SmsOrder

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"


def fill_order(page):
    page.get_by_label("Kommun", exact=True).check()
    page.get_by_label("Organisationens namn").fill("Göteborgs stad")
    page.get_by_label("Kontaktperson").fill("Åsa Öberg")
    page.get_by_label("E-postadress").fill("asa.oberg@goteborg.se")
    page.get_by_label("Telefonnummer").fill("031-365 00 00")
    page.get_by_label("Fakturaadress").fill("Göteborgs stad\nBox 1\n404 82 Göteborg")
    page.get_by_label("Fakturareferens").fill("GBG 77")
    page.get_by_label("Peppol-ID eller GLN (valfritt)").fill("0007:2120001355")
    page.get_by_label("Övrigt (valfritt)").fill("Vi vill gärna komma igång före jul.")


def test_order_with_an_inline_error_fixed(page, live_server):
    page.goto(f"{live_server}/order")
    fill_order(page)
    number = page.get_by_label("Organisationsnummer")
    number.fill("212000-1356")
    number.blur()
    error = page.locator("#org_number-error")
    expect(error).to_contain_text("fel kontrollsiffra")
    expect(number).to_have_attribute("aria-invalid", "true")
    page.screenshot(path=str(SCREENSHOTS / "e2e-order-inline-error.png"), full_page=True)

    number.fill("212000-1355")
    number.blur()
    expect(error).to_have_count(0)
    page.get_by_label(
        "Jag är behörig att beställa för organisationen och godkänner villkoren"
    ).check()
    page.get_by_role("button", name="Skicka beställning").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Tack! Vi har tagit emot er beställning"
    )
    order_number = page.locator(".order-number").inner_text()
    assert re.fullmatch(r"SMS-\d{4}-\d{6}", order_number)
    page.screenshot(path=str(SCREENSHOTS / "e2e-order-receipt.png"), full_page=True)

    page.locator(".private-link a").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Beställning {order_number}")
    expect(page.locator(".summary-list")).to_contain_text("Mottagen")
    db.session.rollback()  # end the test's own read snapshot
    order = db.session.execute(
        db.select(SmsOrder).where(SmsOrder.number == order_number)
    ).scalar_one()
    assert order.status == OrderStatus.RECEIVED
    assert order.org_number == "212000-1355"
    assert page.url.endswith(f"/order/{order.token}")


def test_the_order_form_fits_a_narrow_screen(page, live_server):
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(f"{live_server}/order")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.screenshot(path=str(SCREENSHOTS / "e2e-order-320.png"), full_page=True)
