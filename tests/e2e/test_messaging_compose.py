"""Compose in Chromium: the demo teacher ticks "Skicka även som SMS", watches the
counter switch to Unicode and back, reviews the cost and double-clicks "Bekräfta och
skicka" → exactly one message, which a real worker process sends through the console
provider while the message page follows its progress to "Klar"."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.demo import DEMO_PASSWORD
from portal.extensions import db
from portal.models import Message, Recipient, RecipientStatus
from tests.e2e.htmx import settled

pytestmark = pytest.mark.e2e

TEACHER = "larare@exempelkommun.se"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"


SENDING_SECONDS = 30


def test_the_teacher_sends_an_sms_once(page, live_server, worker):
    page.goto(f"{live_server}/login")
    page.get_by_label("E-postadress").fill(TEACHER)
    page.get_by_label("Lösenord").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    page.goto(f"{live_server}/messages/new")

    page.get_by_label("Skicka även som SMS").check()
    sms_text = page.get_by_label("SMS-text (Rubrik)")
    expect(sms_text).to_be_visible()
    settled(page)
    sms_text.press_sequentially("Föräldramöte på torsdag")
    counter = page.locator("#sms-counter")
    expect(counter).to_contain_text("GSM")
    expect(counter).to_contain_text("1 SMS per mottagare")
    sms_text.press_sequentially("’")
    expect(counter).to_contain_text("Unicode")
    expect(counter).to_contain_text("’ gör att SMS:et skickas som Unicode")
    page.screenshot(path=str(SCREENSHOTS / "e2e-messaging-counter.png"), full_page=True)
    page.get_by_role("button", name="Ersätt med vanliga tecken").click()
    expect(page.get_by_label("SMS-text (Rubrik)")).to_have_value("Föräldramöte på torsdag'")
    expect(page.locator("#sms-counter")).to_contain_text("GSM")

    page.get_by_role("group", name="7A").get_by_label("Vårdnadshavare").check()
    page.get_by_role("button", name="Granska").click()
    expect(page.locator("#cost-statement")).to_contain_text(
        "Kostnaden för SMS debiteras Exempelkommun (kommunen). "
        "Ingen kostnad tas ut av personal, elever eller vårdnadshavare."
    )
    expect(page.locator("#confirm-sms")).to_contain_text("× 1 SMS")
    page.screenshot(path=str(SCREENSHOTS / "e2e-messaging-review.png"), full_page=True)

    page.get_by_role("button", name="Bekräfta och skicka").dblclick()
    expect(page.locator("#message-status")).to_have_text("Klar", timeout=SENDING_SECONDS * 1000)
    page.screenshot(path=str(SCREENSHOTS / "e2e-messaging-show.png"), full_page=True)
    db.session.rollback()
    message = db.session.scalars(db.select(Message)).one()
    statuses = db.session.scalars(
        db.select(Recipient.status).where(Recipient.message_id == message.id)
    ).all()
    assert statuses
    assert set(statuses) == {RecipientStatus.SENT}


def test_an_empty_review_shows_the_errors(page, live_server):
    page.goto(f"{live_server}/login")
    page.get_by_label("E-postadress").fill(TEACHER)
    page.get_by_label("Lösenord").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    page.goto(f"{live_server}/messages/new")
    page.get_by_role("button", name="Granska").click()
    expect(page.get_by_role("alert")).to_contain_text("Skriv en rubrik.")
    expect(page.locator("#recipients-error")).to_contain_text("Välj minst en mottagargrupp.")
    page.screenshot(path=str(SCREENSHOTS / "e2e-messaging-errors.png"), full_page=True)
