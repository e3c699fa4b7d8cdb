"""Images and the message page in Chromium: the demo teacher attaches images (they stay
through review, "Avbryt" and the SMS view), sends, watches the progress panel poll, and
cancels the queued message with "Avbryt utskick". No worker runs: the message stays
queued until it is cancelled."""

import io
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from portal.demo import DEMO_PASSWORD
from portal.extensions import db
from portal.models import Message, MessageStatus, RecipientStatus

pytestmark = pytest.mark.e2e

TEACHER = "larare@exempelkommun.se"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"


def png(color):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buffer, "PNG")
    return buffer.getvalue()


def file(name, data, mime="image/png"):
    return {"name": name, "mimeType": mime, "buffer": data}


def sign_in(page, live_server):
    page.goto(f"{live_server}/login")
    page.get_by_label("E-postadress").fill(TEACHER)
    page.get_by_label("Lösenord").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    page.goto(f"{live_server}/messages/new")


def test_images_travel_with_the_message_and_it_can_be_cancelled(page, live_server):
    sign_in(page, live_server)
    page.get_by_label("Rubrik", exact=True).fill("Bilder från utflykten")
    page.get_by_label("Meddelande").fill("Hej!\nHär är bilderna.")
    page.get_by_role("group", name="7A").get_by_label("Vårdnadshavare").check()

    images = page.get_by_label("Bilder", exact=True)
    images.set_input_files([file("brev.png", b"inte en bild")])
    page.get_by_role("button", name="Granska").click()
    expect(page.locator("#images-error")).to_contain_text(
        "brev.png är inte en PNG- eller JPEG-bild."
    )
    page.screenshot(path=str(SCREENSHOTS / "e2e-messaging-image-error.png"), full_page=True)

    page.get_by_label("Bilder", exact=True).set_input_files(
        [file("skogen.png", png("green")), file("sjon.png", png("blue"))]
    )
    page.get_by_role("button", name="Granska").click()
    expect(page.locator("#confirm-images")).to_contain_text("skogen.png")
    expect(page.locator("#confirm-images")).to_contain_text("sjon.png")
    page.get_by_role("button", name="Avbryt", exact=True).click()
    expect(page.get_by_label("skogen.png")).to_be_checked()
    page.screenshot(path=str(SCREENSHOTS / "e2e-messaging-images.png"), full_page=True)

    page.get_by_label("Skicka även som SMS").check()
    expect(page.get_by_label("SMS-text (Rubrik)")).to_be_visible()
    expect(page.get_by_label("Bilder", exact=True)).to_have_count(0)
    expect(page.get_by_text("Skickas med e-post, med 2 bilder.")).to_be_visible()
    page.get_by_label("Skicka även som SMS").uncheck()
    page.get_by_label("sjon.png").uncheck()
    page.get_by_role("button", name="Granska").click()
    expect(page.locator("#confirm-images")).not_to_contain_text("sjon.png")
    page.screenshot(path=str(SCREENSHOTS / "e2e-messaging-review-images.png"), full_page=True)
    page.get_by_role("button", name="Bekräfta och skicka").click()

    expect(page.locator("#message-status")).to_have_text("Köad")
    expect(page.locator("#bar-email")).to_be_visible()
    with page.expect_response(lambda response: response.url.endswith("/progress")):
        pass  # the panel polls while the message is queued
    expect(page.get_by_text("skogen.png")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "e2e-messaging-progress.png"), full_page=True)
    page.set_viewport_size({"width": 320, "height": 800})
    page.screenshot(path=str(SCREENSHOTS / "e2e-messaging-progress-320.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 320

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Avbryt utskick").click()
    expect(page.locator("#message-status")).to_have_text("Avbruten")
    expect(page.get_by_role("status")).to_contain_text("Utskicket är avbrutet.")
    expect(page.get_by_role("button", name="Avbryt utskick")).to_have_count(0)
    page.set_viewport_size({"width": 1024, "height": 800})
    page.screenshot(path=str(SCREENSHOTS / "e2e-messaging-cancelled.png"), full_page=True)
    page.get_by_role("link", name="Tillbaka till meddelandena").click()
    row = page.get_by_role("row", name="Bilder från utflykten")
    expect(row).to_contain_text("Avbruten")
    expect(row).to_contain_text("E-post:")
    page.screenshot(path=str(SCREENSHOTS / "e2e-messaging-list.png"), full_page=True)

    db.session.rollback()
    (message,) = db.session.scalars(db.select(Message)).all()
    assert message.status == MessageStatus.CANCELLED
    assert [a.filename for a in message.attachments] == ["skogen.png"]
    assert {r.status for r in message.recipients} == {RecipientStatus.CANCELLED}
