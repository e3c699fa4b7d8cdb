"""The demo admin imports a small CSV directory with Chromium: upload, preview, apply."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.demo import DEMO_PASSWORD
from portal.extensions import db
from portal.models import Person

pytestmark = pytest.mark.e2e

ADMIN = "admin@exempelkommun.se"
RESULTS = Path(__file__).resolve().parents[2] / "test-results"
CSV = (
    "\ufeffexternal_id;role;given_name;family_name;email;mobile;school;groups;guardian_of;"
    "terms_accepted_at;protected_identity\r\n"
    "imp-e1;elev;Ines;Holm;;070-174 06 95;Norrskolan;7A;;;nej\r\n"
    "imp-e2;elev;Hemlig;Elev;;;Norrskolan;7B;;;ja\r\n"
    "imp-v1;vardnadshavare;Jonas;Holm;jonas.holm@example.com;701740696;;;imp-e1|imp-e2;"
    "2025-08-14;nej\r\n"
    "imp-v2;vardnadshavare;Sara;Holm;;08-123 45 67;;;imp-e1;;nej\r\n"
    "imp-p1;lärare;Per;Fel;;;Norrskolan;7A;;;nej\r\n"
)


def test_admin_uploads_previews_and_imports_a_csv(live_server, page, tmp_path):
    path = tmp_path / "katalog.csv"
    path.write_text(CSV, encoding="utf-8")
    page.goto(f"{live_server}/login")
    page.get_by_label("E-postadress").fill(ADMIN)
    page.get_by_label("Lösenord").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Logga in").click()

    page.get_by_role("link", name="Katalogimport").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Importera katalogen")
    RESULTS.mkdir(exist_ok=True)
    page.screenshot(path=RESULTS / "e2e-directory-import-upload.png", full_page=True)
    page.get_by_label("Katalogfil (CSV eller SS 12000 JSON)").set_input_files(path)
    page.get_by_role("button", name="Förhandsgranska").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Förhandsgranskning av importen")
    people = page.get_by_role("row", name="Personer")
    expect(people).to_contain_text("4")
    expect(page.get_by_text("Rad 6:")).to_be_visible()
    expect(page.get_by_text("Okänd roll 'lärare'", exact=False)).to_be_visible()
    expect(page.get_by_text("08-123 45 67 är inte ett mobilnummer", exact=False)).to_be_visible()
    expect(page.get_by_text("Hemlig")).to_have_count(0)
    page.screenshot(path=RESULTS / "e2e-directory-import-preview.png", full_page=True)
    db.session.rollback()
    assert db.session.scalar(db.select(Person).filter_by(external_id="imp-e1")) is None

    page.get_by_role("button", name="Importera").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Katalogen är importerad")
    page.screenshot(path=RESULTS / "e2e-directory-import-result.png", full_page=True)
    db.session.rollback()
    guardian = db.session.scalar(db.select(Person).filter_by(external_id="imp-v1"))
    assert sorted(child.external_id for child in guardian.children) == ["imp-e1", "imp-e2"]
    assert guardian.mobile == "+46701740696"
    demo_teacher = db.session.scalar(db.select(Person).filter_by(email="larare@exempelkommun.se"))
    assert demo_teacher.active  # made before the import: no external_id, never deactivated


def test_preview_fits_a_320_px_wide_screen(live_server, page, tmp_path):
    path = tmp_path / "katalog.csv"
    path.write_text(CSV, encoding="utf-8")
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(f"{live_server}/login")
    page.get_by_label("E-postadress").fill(ADMIN)
    page.get_by_label("Lösenord").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    page.goto(f"{live_server}/directory/import")
    page.get_by_label("Katalogfil (CSV eller SS 12000 JSON)").set_input_files(path)
    page.get_by_role("button", name="Förhandsgranska").click()

    expect(page.get_by_role("button", name="Importera")).to_be_visible()
    page.screenshot(path=RESULTS / "e2e-directory-import-preview-320.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
