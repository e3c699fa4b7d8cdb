"""The recipients' side in Chromium: a guardian who never accepted the terms signs in,
reads "Om SMS-portalen", accepts and changes their mobile number; an invited person
chooses a password through the mailed link; the admin's invitation list."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.demo import DEMO_PASSWORD
from portal.extensions import db
from portal.models import Organisation, Person, Role
from portal.people import invitations
from tests.conftest import fresh

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"
ADMIN = "admin@exempelkommun.se"


def kommun():
    return db.session.execute(db.select(Organisation).filter_by(name="Exempelkommun")).scalar_one()


def log_in(page, base_url, email, password):
    page.goto(f"{base_url}/login")
    page.get_by_label("E-postadress").fill(email)
    page.get_by_label("Lösenord").fill(password)
    page.get_by_role("button", name="Logga in").click()


def test_a_newcomer_accepts_the_terms_and_changes_their_number(live_server, page, make):
    guardian = make.person(
        Role.GUARDIAN,
        kommun(),
        given_name="Nils",
        family_name="Nykvist",
        email="nils.nykvist@example.com",
        mobile="+46701740698",
        terms_accepted_at=None,
    )

    log_in(page, live_server, guardian.email, make.PASSWORD)

    expect(page).to_have_url(f"{live_server}/om-sms-portalen?next=/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Om SMS-portalen")
    expect(page.get_by_text("Det kostar dig ingenting")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "e2e-about.png"), full_page=True)

    page.get_by_role("button", name="Fortsätt").click()
    expect(page.get_by_role("alert")).to_contain_text("Kryssa i rutan")
    page.screenshot(path=str(SCREENSHOTS / "e2e-about-unticked.png"), full_page=True)

    page.get_by_label("Jag har tagit del av informationen").check()
    page.get_by_role("button", name="Fortsätt").click()
    expect(page).to_have_url(f"{live_server}/")
    assert fresh(guardian).terms_accepted_at is not None

    page.get_by_role("link", name="Min profil").click()
    mobile = page.get_by_label("Mobilnummer")
    expect(mobile).to_have_value("070-174 06 98")
    mobile.fill("08-123 456 78")
    page.get_by_role("button", name="Spara mobilnummer").click()
    expect(page.locator("#mobile-error")).to_contain_text("inte ett mobilnummer")

    page.get_by_label("Mobilnummer").fill("070-174 06 77")
    page.get_by_role("button", name="Spara mobilnummer").click()
    expect(page.get_by_role("status")).to_have_text("Ditt mobilnummer är sparat.")
    expect(page.get_by_label("Mobilnummer")).to_have_value("070-174 06 77")
    assert fresh(guardian).mobile == "+46701740677"
    page.screenshot(path=str(SCREENSHOTS / "e2e-profile.png"), full_page=True)


def test_the_about_page_and_the_profile_fit_a_320_px_wide_screen(live_server, page, make):
    student = make.person(Role.STUDENT, kommun(), terms_accepted_at=None)
    page.set_viewport_size({"width": 320, "height": 640})
    log_in(page, live_server, student.email, make.PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Om SMS-portalen")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.get_by_label("Jag har tagit del av informationen").check()
    page.get_by_role("button", name="Fortsätt").click()
    page.goto(f"{live_server}/profile")
    expect(page.get_by_label("Mobilnummer")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320


def test_the_demo_guardian_goes_straight_to_the_start_page(live_server, page):
    log_in(page, live_server, "vardnadshavare@exempelkommun.se", DEMO_PASSWORD)
    expect(page).to_have_url(f"{live_server}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Välkommen")


def test_an_invited_person_chooses_a_password_and_meets_the_terms(live_server, page, make):
    admin = db.session.execute(db.select(Person).filter_by(email=ADMIN)).scalar_one()
    person = make.person(
        Role.STAFF,
        kommun(),
        password=None,
        given_name="Ida",
        email="ida.inbjuden@example.com",
        terms_accepted_at=None,
    )
    token = invitations.invite(person, by=admin)
    db.session.commit()
    secret = invitations.new_secret(token)

    page.goto(f"{live_server}/set-password/{secret}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Välj lösenord")
    page.get_by_label("Nytt lösenord").fill("kort")
    page.get_by_label("Upprepa lösenordet").fill("kort")
    page.get_by_role("button", name="Spara lösenord").click()
    expect(page.locator("#password-error")).to_contain_text("minst 10 tecken")
    page.screenshot(path=str(SCREENSHOTS / "e2e-set-password.png"), full_page=True)

    page.get_by_label("Nytt lösenord").fill("mitt eget lösenord")
    page.get_by_label("Upprepa lösenordet").fill("mitt eget lösenord")
    page.get_by_role("button", name="Spara lösenord").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Om SMS-portalen")

    # A used link answers 410, which Chromium logs as an error; the `page` fixture fails
    # on logged errors, so the used link is opened in a second tab of the same browser.
    second = page.context.new_page()
    response = second.goto(f"{live_server}/set-password/{secret}")
    assert response.status == 410
    expect(second.get_by_role("heading", level=1)).to_have_text("Länken fungerar inte längre")
    second.screenshot(path=str(SCREENSHOTS / "e2e-link-dead.png"), full_page=True)


def test_the_admin_invites_someone(live_server, page, make):
    make.person(Role.STUDENT, kommun(), password=None, given_name="Olle", family_name="Oinbjuden")
    log_in(page, live_server, ADMIN, DEMO_PASSWORD)
    page.goto(f"{live_server}/people/invite")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bjud in till SMS-portalen")
    page.get_by_label("Sök på namn eller e-postadress").fill("oinbjuden")
    page.get_by_role("button", name="Sök", exact=True).click()
    page.get_by_role("button", name="Skicka inbjudan till Olle Oinbjuden").click()
    expect(page.get_by_role("status")).to_have_text("Inbjudan skickas till Olle Oinbjuden.")
    expect(
        page.get_by_role("button", name="Skicka ny inbjudan till Olle Oinbjuden")
    ).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "e2e-invite.png"), full_page=True)
