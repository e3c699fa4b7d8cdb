"""Compose in Chromium: the demo teacher writes a heading, ticks "Skicka även som SMS"
(the heading becomes the SMS), watches the counter switch to Unicode and back, reviews
the cost and double-clicks "Bekräfta och skicka" → exactly one message, which a real
worker process sends through the console provider to exactly the recipients the
confirmation counted, while the message page follows its progress to "Klar"."""

import re
from collections import Counter
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.demo import DEMO_PASSWORD
from portal.extensions import db
from portal.models import Channel, Message, Recipient, RecipientStatus
from tests.e2e.htmx import settled

pytestmark = pytest.mark.e2e

TEACHER = "larare@exempelkommun.se"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"


SENDING_SECONDS = 30


def test_the_teacher_sends_an_sms_once(page, live_server, worker, tmp_path):
    page.goto(f"{live_server}/login")
    page.get_by_label("E-postadress").fill(TEACHER)
    page.get_by_label("Lösenord").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    page.goto(f"{live_server}/messages/new")

    page.get_by_label("Rubrik", exact=True).fill("Föräldramöte")
    page.get_by_label("Skicka även som SMS").check()
    sms_text = page.get_by_label("SMS-text (Rubrik)")
    expect(sms_text).to_have_value("Föräldramöte")
    settled(page)
    sms_text.focus()
    page.keyboard.press("Control+End")
    page.keyboard.type(" på torsdag")
    counter = page.locator("#sms-counter")
    expect(counter).to_contain_text("23 tecken")
    expect(counter).to_contain_text("GSM")
    expect(counter).to_contain_text("1 SMS per mottagare")
    sms_text.press_sequentially("’")
    expect(counter).to_contain_text("Unicode")
    expect(counter).to_contain_text("’ gör att SMS:et skickas som Unicode")
    expect(counter.get_by_role("button", name="Ersätt med vanliga tecken")).to_be_visible()
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
    shown = {
        Channel.EMAIL: re.fullmatch(
            r"(\d+) mottagare", page.locator("#confirm-email").inner_text()
        ),
        Channel.SMS: re.fullmatch(
            r"(\d+) mottagare × 1 SMS = \1 SMS", page.locator("#confirm-sms").inner_text()
        ),
    }
    assert all(shown.values()), shown
    shown = {channel: int(match[1]) for channel, match in shown.items()}
    assert shown[Channel.SMS] > 0
    page.screenshot(path=str(SCREENSHOTS / "e2e-messaging-review.png"), full_page=True)

    page.get_by_role("button", name="Bekräfta och skicka").dblclick()
    expect(page.locator("#message-status")).to_have_text("Klar", timeout=SENDING_SECONDS * 1000)
    page.screenshot(path=str(SCREENSHOTS / "e2e-messaging-show.png"), full_page=True)
    db.session.rollback()
    message = db.session.scalars(db.select(Message)).one()
    rows = db.session.execute(
        db.select(Recipient.channel, Recipient.status).where(Recipient.message_id == message.id)
    ).all()
    assert {status for _channel, status in rows} == {RecipientStatus.SENT}
    assert Counter(channel for channel, _status in rows) == shown
    console = (tmp_path / "worker.log").read_text()
    assert console.count("SMS (console, not sent)") == shown[Channel.SMS]
    assert console.count(": Föräldramöte på torsdag'\n") == shown[Channel.SMS]


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
