"""Organisations for operators: search and filter, the organisation page, SMS off and on."""

import re
import threading

import pytest

from portal.activation.decisions import approve
from portal.activation.organisations import deactivate, reactivate
from portal.billing.packages import SmsStateUnchanged
from portal.database import write_transaction
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Invoice,
    Organisation,
    OrgKind,
    Person,
    Role,
    SmsPackage,
    SmsStatus,
)
from portal.models.audit import record
from tests.conftest import fresh
from tests.test_activation_decisions import (
    count,
    login,
    new_operator,
    place,
    post_with_token,
)


@pytest.fixture
def signed_in(auth, make):
    operator = new_operator(make)
    login(auth, operator)
    return operator


def activated(operator, **order_fields):
    """An organisation made active by approving an order: package 1 and invoice 1."""
    order = place(**order_fields)
    return approve(order.id, operator).organisation


def test_search_by_name_or_number_and_filter_by_state(client, signed_in, make):
    make.org(name="Alfa kommun", org_number="212000-0142", sms=SmsStatus.ACTIVE)
    make.org(name="Beta skola AB", kind=OrgKind.FRISKOLA, sms=SmsStatus.INACTIVE)
    make.org(name="Gamma 100% skola", sms=SmsStatus.DEACTIVATED)

    def names(query=""):
        page = client.get(f"/admin/organisations{query}").get_data(as_text=True)
        return re.findall(r'<a href="/admin/organisations/\d+">([^<]+)</a>', page)

    assert names() == ["Alfa kommun", "Beta skola AB", "Gamma 100% skola"]
    assert names("?q=beta") == ["Beta skola AB"]
    assert names("?q=2120000142") == ["Alfa kommun"]
    assert names("?q=212000-0142") == ["Alfa kommun"]
    assert names("?q=100%25") == ["Gamma 100% skola"]
    assert names("?q=%25") == ["Gamma 100% skola"]  # % is a character, not a wildcard
    assert names("?sms=active") == ["Alfa kommun"]
    assert names("?sms=inactive") == ["Beta skola AB"]
    assert names("?sms=deactivated&q=gamma") == ["Gamma 100% skola"]
    assert names("?sms=nonsense") == ["Alfa kommun", "Beta skola AB", "Gamma 100% skola"]
    page = client.get("/admin/organisations?q=x").get_data(as_text=True)
    assert re.search(
        r'<label class="label" for="q">Sök på namn eller organisationsnummer</label>', page
    )
    assert "Ingen organisation matchar sökningen." in page
    for label in ("Alla", "Aktivt", "Inte aktiverat", "Avslutat"):
        assert f">{label}</option>" in page


def test_the_list_is_paginated(client, signed_in, make):
    for n in range(26):
        make.org(name=f"Kommun {n:02d}")
    first = client.get("/admin/organisations").get_data(as_text=True)
    assert "Kommun 24" in first and "Kommun 25" not in first and "Nästa" in first
    second = client.get("/admin/organisations?page=2").get_data(as_text=True)
    assert "Kommun 25" in second and "Föregående" in second


def test_the_organisation_page_shows_state_package_invoices_and_trail(client, signed_in):
    organisation = activated(signed_in, org_name="Solgläntan AB")
    with write_transaction():
        db.session.scalars(db.select(SmsPackage)).one().used = 1234
    page = client.get(f"/admin/organisations/{organisation.id}").get_data(as_text=True)
    invoice = db.session.scalars(db.select(Invoice)).one()
    assert "<h1>Solgläntan AB</h1>" in page
    assert '<span class="tag tag-active">Aktivt</span>' in page
    figures = page[page.index('class="billing-figures"') : page.index("Paket och fakturor")]
    assert re.search(r'Förbrukat</p>\s*<p class="billing-figure-value">1\xa0234</p>', figures)
    assert "av 10\xa0000 SMS" in figures
    assert re.search(r'Kvar</p>\s*<p class="billing-figure-value">8\xa0766</p>', figures)
    assert invoice.number in page and "4\xa0500,00\xa0kr" in page
    trail = page[page.index('id="audit"') :]
    for label in ("Beställning godkänd", "SMS aktiverat", "Paket öppnat och fakturerat"):
        assert label in trail
    assert "Beställning mottagen" in trail  # the order's own events belong to the trail
    assert trail.index("Beställning godkänd") < trail.index("Beställning mottagen")
    assert "Sofia Nordin" in trail
    assert ">Inaktivera SMS</a>" in page


def test_the_trail_never_names_a_person_with_protected_identity(client, signed_in, make):
    organisation = activated(signed_in)
    guardian = make.person(
        Role.GUARDIAN, organisation, given_name="Hemlig", protected_identity=True
    )
    with write_transaction():
        record("terms.accepted", actor=guardian, organisation=organisation, subject=guardian)
    page = client.get(f"/admin/organisations/{organisation.id}").get_data(as_text=True)
    trail = page[page.index('id="audit"') :]
    assert "Villkoren godkända" in trail
    assert "Skyddad identitet" in trail
    assert "Hemlig" not in trail


def test_deactivation_is_confirmed_then_done_and_audited(client, signed_in):
    organisation = activated(signed_in)
    url = f"/admin/organisations/{organisation.id}/deactivate"
    fragment = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<h1" not in fragment
    assert "inte längre skicka SMS" in fragment
    assert "Inga nya paket öppnas eller faktureras" in fragment
    assert "återbetalas inte" in fragment
    assert fresh(organisation).sms_status == SmsStatus.ACTIVE  # GET changes nothing
    response = post_with_token(client, url, url, {"reason": "Kommunen byter leverantör"})
    assert response.status_code == 303
    assert fresh(organisation).sms_status == SmsStatus.DEACTIVATED
    event = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "sms.deactivated")
    ).one()
    assert event.actor_id == signed_in.id
    assert event.details["reason"] == "Kommunen byter leverantör"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "SMS är avslutat för" in page and ">Aktivera SMS</a>" in page


def test_reactivation_continues_the_package_without_a_new_invoice(client, signed_in):
    organisation = activated(signed_in)
    deactivate(organisation.id, signed_in)
    url = f"/admin/organisations/{organisation.id}/activate"
    fragment = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Paketet fortsätter – ingen ny faktura" in fragment
    response = post_with_token(client, url, url, headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"] == f"/admin/organisations/{organisation.id}"
    assert fresh(organisation).sms_status == SmsStatus.ACTIVE
    assert (count(SmsPackage), count(Invoice)) == (1, 1)


def test_reactivation_after_a_used_up_package_invoices_the_next(client, signed_in):
    organisation = activated(signed_in)
    deactivate(organisation.id, signed_in)
    with write_transaction():
        package = db.session.scalars(db.select(SmsPackage)).one()
        package.used = package.size
    url = f"/admin/organisations/{organisation.id}/activate"
    fragment = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Paket 2 faktureras nu" in fragment and "4\xa0500,00\xa0kr" in fragment
    response = post_with_token(client, url, url)
    assert response.status_code == 303
    assert (count(SmsPackage), count(Invoice)) == (2, 2)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Paket 2 är fakturerat" in page


def test_an_organisation_that_never_had_sms_is_activated_by_an_order(client, signed_in, make):
    organisation = make.org(sms=SmsStatus.INACTIVE)
    page = client.get(f"/admin/organisations/{organisation.id}").get_data(as_text=True)
    assert "Det görs genom en beställning" in page and "Aktivera SMS</a>" not in page
    url = f"/admin/organisations/{organisation.id}/activate"
    response = post_with_token(client, url, url)
    assert response.status_code == 409
    assert "SMS har aldrig aktiverats" in response.get_data(as_text=True)
    assert fresh(organisation).sms_status == SmsStatus.INACTIVE
    with pytest.raises(SmsStateUnchanged):
        reactivate(organisation.id, signed_in)


def test_deactivating_twice_is_refused(client, signed_in):
    organisation = activated(signed_in)
    deactivate(organisation.id, signed_in)
    url = f"/admin/organisations/{organisation.id}/deactivate"
    response = post_with_token(client, f"/admin/organisations/{organisation.id}", url)
    assert response.status_code == 409
    assert "SMS är inte aktiverat för organisationen." in response.get_data(as_text=True)
    assert (
        db.session.scalar(db.select(db.func.count()).where(AuditEvent.action == "sms.deactivated"))
        == 1
    )


@pytest.mark.parametrize("reason", ["x" * 1001, "Paus\x07"])
def test_a_bad_deactivation_reason_is_422(client, signed_in, reason):
    organisation = activated(signed_in)
    url = f"/admin/organisations/{organisation.id}/deactivate"
    response = post_with_token(client, url, url, {"reason": reason}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert 'id="reason-error"' in response.get_data(as_text=True)
    assert fresh(organisation).sms_status == SmsStatus.ACTIVE


def test_two_operators_deactivating_at_once_deactivate_once(app, make, signed_in):
    organisation = activated(signed_in)
    organisation_id = organisation.id
    operator_ids = (signed_in.id, make.person(signed_in.role).id)
    barrier = threading.Barrier(2)
    results = []

    def run(operator_id):
        with app.app_context():
            operator = db.session.get(Person, operator_id)
            barrier.wait()
            try:
                results.append(deactivate(organisation_id, operator))
            except SmsStateUnchanged as refused:
                results.append(refused)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in operator_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(isinstance(result, SmsStateUnchanged) for result in results) == 1
    assert fresh(organisation).sms_status == SmsStatus.DEACTIVATED


def test_unknown_organisations_are_404(client, signed_in):
    for url in ("/admin/organisations/999999", "/admin/organisations/999999/activate"):
        assert client.get(url).status_code == 404
    assert db.session.get(Organisation, 999999) is None
