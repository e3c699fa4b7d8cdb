"""Signing in with Chromium: the demo teacher reaches the start page, a wrong
password is refused in Swedish, and the pages fit a 320 px wide screen."""

from pathlib import Path

import pytest
from playwright.sync_api import expect
from rq import Worker

from portal.demo import DEMO_PASSWORD
from portal.extensions import db
from portal.models import Person
from portal.queue import redis_connection

pytestmark = pytest.mark.e2e

TEACHER = "larare@exempelkommun.se"
SCREENSHOT = Path(__file__).resolve().parents[2] / "test-results" / "e2e-start-page.png"


def log_in(page, base_url, password=DEMO_PASSWORD):
    page.goto(f"{base_url}/login")
    page.get_by_label("E-postadress").fill(TEACHER)
    page.get_by_label("Lösenord").fill(password)
    page.get_by_role("button", name="Logga in").click()


def fits_width(page, width):
    return page.evaluate("document.documentElement.scrollWidth") <= width


def test_teacher_signs_in_and_sees_the_start_page(live_server, worker, page):
    teacher = db.session.execute(db.select(Person).filter_by(email=TEACHER)).scalar_one()
    assert worker.pid in {w.pid for w in Worker.all(connection=redis_connection())}

    log_in(page, live_server)

    expect(page).to_have_url(f"{live_server}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Välkommen, {teacher.given_name}")
    expect(page.get_by_text("Exempelkommun", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Logga ut")).to_be_visible()
    page.screenshot(path=SCREENSHOT, full_page=True)


def test_wrong_password_is_refused_in_swedish(live_server, page):
    log_in(page, live_server, password="inte-rätt-lösenord")

    expect(page.get_by_role("alert")).to_contain_text("Fel e-postadress eller lösenord.")
    expect(page).to_have_url(f"{live_server}/login")


def test_pages_fit_a_320_px_wide_screen(live_server, page):
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(f"{live_server}/login")
    assert fits_width(page, 320)

    log_in(page, live_server)

    expect(page.get_by_role("heading", level=1)).to_contain_text("Välkommen")
    assert fits_width(page, 320)
