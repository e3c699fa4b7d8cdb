"""The organisation's own billing page and ending the SMS service (issue #4, point 5)."""

import pytest

from portal.billing.packages import activate_sms
from portal.billing.prices import set_price
from portal.database import write_transaction
from portal.extensions import db
from portal.models import AuditEvent, Invoice, Role, SmsPackage, SmsStatus
from portal.models.base import utcnow
from tests.conftest import csrf_token, fresh

PRICE_ORE = 450_000


@pytest.fixture
def operator(make):
    return make.person(Role.OPERATOR, email="drift@sms-portalen.se")


def activated_org(make, operator, **fields):
    """An organisation with SMS active, package #1 open and invoice #1 created."""
    organisation = make.org(sms=SmsStatus.INACTIVE, **fields)
    with write_transaction():
        set_price(PRICE_ORE, operator)
        activate_sms(db.session.merge(organisation), by=operator)
    return organisation


@pytest.fixture
def organisation(make, operator):
    return activated_org(make, operator, name="Åkerby kommun")


@pytest.fixture
def admin(make, organisation, auth):
    person = make.person(
        Role.ADMIN,
        organisation,
        given_name="Maria",
        family_name="Lundgren",
        terms_accepted_at=utcnow(),
    )
    auth.login(person.email)
    return person


def end_service(client, reason=""):
    page = client.get("/billing/deactivate").get_data(as_text=True)
    return client.post(
        "/billing/deactivate", data={"csrf_token": csrf_token(page), "reason": reason}
    )


def deactivations():
    db.session.rollback()
    return db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "sms.deactivated")
    ).all()


def test_the_page_shows_state_package_and_invoices(client, admin, organisation):
    html = client.get("/billing").get_data(as_text=True)
    invoice = db.session.scalars(db.select(Invoice)).one()
    assert "Aktivt" in html and "tag-active" in html
    assert "Kvar i paket 1" in html
    assert "10\u00a0000 SMS" in html
    assert invoice.number in html
    assert "4\u00a0500,00\u00a0kr" in html  # excl. VAT
    assert "1\u00a0125,00\u00a0kr" in html  # VAT 25 %
    assert "5\u00a0625,00\u00a0kr" in html  # total
    assert "Avsluta SMS-tjänsten" in html
    assert 'href="/order"' not in html


def test_the_confirmation_says_what_stops_and_what_does_not(client, admin):
    response = client.get("/billing/deactivate", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html  # the fragment, for the inline confirmation
    assert "Ingen i organisationen kan skicka SMS" in html
    assert "Inga nya paket öppnas" in html
    assert "återbetalas inte" in html
    assert "De 10\u00a0000 SMS som är kvar i paket 1 finns kvar" in html
    assert "Ja, avsluta SMS-tjänsten" in html
    assert fresh(admin.organisation).sms_status == SmsStatus.ACTIVE  # showing changes nothing


def test_the_admin_ends_the_service_and_operators_are_mailed(
    app, client, admin, organisation, operator, smtp_server, run_jobs
):
    app.config["MAIL_URL"] = smtp_server.url
    response = end_service(client, reason="Vi byter till en annan tjänst")
    assert response.status_code == 303
    assert response.headers["Location"] == "/billing"

    organisation = fresh(organisation)
    assert organisation.sms_status == SmsStatus.DEACTIVATED
    assert organisation.sms_deactivated_at is not None
    (event,) = deactivations()
    assert event.actor_id == admin.id
    assert event.organisation_id == organisation.id
    assert event.details["reason"] == "Vi byter till en annan tjänst"

    # No refund: the package and its invoice stay exactly as they were.
    (package,) = db.session.scalars(db.select(SmsPackage)).all()
    assert (package.closed_at, package.used) == (None, 0)
    (invoice,) = db.session.scalars(db.select(Invoice)).all()
    assert invoice.amount_ore == PRICE_ORE

    run_jobs()
    (mail,) = smtp_server.messages
    assert mail["To"].addresses[0].addr_spec == operator.email
    assert mail["Subject"] == "Åkerby kommun har avslutat SMS-tjänsten"
    body = mail.get_content()
    assert "Avslutad av: Maria Lundgren" in body
    assert "Anledning: Vi byter till en annan tjänst" in body
    assert "återbetalas inte" in body

    html = client.get("/billing").get_data(as_text=True)
    assert "SMS-tjänsten är avslutad" in html
    assert 'href="/order"' in html
    assert "Ja, avsluta" not in html and 'href="/billing/deactivate"' not in html
    assert "De 10\u00a0000 SMS som finns kvar i paket 1" in html


def test_ending_twice_is_refused_and_mails_once(app, client, admin, smtp_server, run_jobs):
    app.config["MAIL_URL"] = smtp_server.url
    page = client.get("/billing/deactivate").get_data(as_text=True)
    token = csrf_token(page)
    first = client.post("/billing/deactivate", data={"csrf_token": token})
    second = client.post("/billing/deactivate", data={"csrf_token": token})
    assert (first.status_code, second.status_code) == (303, 303)
    assert "redan avslutad" in client.get("/billing").get_data(as_text=True)
    assert len(deactivations()) == 1
    run_jobs()
    assert len(smtp_server.messages) == 1


def test_a_too_long_reason_is_422_and_nothing_changes(client, admin, organisation):
    response = end_service(client, reason="x" * 501)
    assert response.status_code == 422
    assert "Högst 500 tecken" in response.get_data(as_text=True)
    assert fresh(organisation).sms_status == SmsStatus.ACTIVE
    assert deactivations() == []


def test_ending_needs_the_csrf_token(client, admin, organisation):
    response = client.post("/billing/deactivate", data={"reason": ""})
    assert response.status_code == 400
    assert fresh(organisation).sms_status == SmsStatus.ACTIVE


def test_an_organisation_without_sms_is_sent_to_the_order_form(client, make, auth):
    organisation = make.org(sms=SmsStatus.INACTIVE)
    person = make.person(Role.ADMIN, organisation, terms_accepted_at=utcnow())
    auth.login(person.email)
    html = client.get("/billing").get_data(as_text=True)
    assert "Inte aktiverat" in html
    assert 'href="/order"' in html
    assert "inget SMS-paket" in html
    assert "Inga fakturor" in html
    response = client.get("/billing/deactivate")
    assert response.status_code == 303
    inline = client.get("/billing/deactivate", headers={"HX-Request": "true"})
    assert (inline.status_code, inline.headers["HX-Redirect"]) == (204, "/billing")


def test_the_page_shows_only_the_own_organisations_invoices(client, make, operator, auth):
    mine = activated_org(make, operator)
    other = activated_org(make, operator)
    person = make.person(Role.ADMIN, mine, terms_accepted_at=utcnow())
    auth.login(person.email)
    html = client.get("/billing").get_data(as_text=True)
    numbers = {
        invoice.organisation_id: invoice.number
        for invoice in db.session.scalars(db.select(Invoice))
    }
    assert numbers[mine.id] in html
    assert numbers[other.id] not in html


def test_a_page_number_out_of_range_is_an_empty_page_not_an_error(client, admin):
    assert client.get("/billing?page=999").status_code == 200
    assert client.get("/billing?page=-1").status_code == 200
    assert client.get("/billing?page=x").status_code == 200
