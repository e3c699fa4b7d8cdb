"""Approving and rejecting orders: one transaction, audited, mailed, and one winner under races."""

import re
import threading
from datetime import timedelta

import pytest

from portal.activation.decisions import AlreadyDecided, approve, reject
from portal.billing.packages import deactivate_sms
from portal.billing.prices import NoPrice, set_price
from portal.database import write_transaction
from portal.extensions import db
from portal.identifiers import luhn_valid
from portal.models import (
    AuditEvent,
    Invoice,
    OrderStatus,
    Organisation,
    OrgKind,
    Person,
    Role,
    SmsOrder,
    SmsPackage,
    SmsStatus,
)
from portal.orders.placing import place_order
from tests.conftest import csrf_token, fresh

PRICE_ORE = 450_000
_serial = iter(range(1, 10**6))


def org_number():
    """A fresh valid organisationsnummer in a series the factories do not use."""
    body = f"559{next(_serial):06d}"
    check = next(d for d in range(10) if luhn_valid(body + str(d)))
    return f"{body[:6]}-{body[6:]}{check}"


def place(age=timedelta(hours=2), **changes):
    """A waiting order as the public form stores it, received `age` ago."""
    fields = {
        "org_kind": OrgKind.FRISKOLA,
        "org_name": "Friskolan Solgläntan AB",
        "org_number": org_number(),
        "contact_name": "Mats Öberg",
        "contact_email": "mats.oberg@example.org",
        "contact_phone": "+46701740605",
        "invoice_address": "Friskolan Solgläntan AB\nStorgatan 12\n123 46 Exempelstad",
        "invoice_reference": "Mats Öberg",
        "peppol_id": "0007:5599001236",
        "comment": None,
        **changes,
    }
    order = db.session.get(SmsOrder, place_order(fields).receipt.order_id)
    order.created_at = order.created_at - age
    db.session.commit()
    return order


def new_operator(make, price_ore=PRICE_ORE):
    """An operator named Sofia Nordin who has set the package price (none if None)."""
    operator = make.person(Role.OPERATOR, given_name="Sofia", family_name="Nordin")
    if price_ore is not None:
        with write_transaction():
            set_price(price_ore, operator)
    return operator


def login(auth, person):
    """Sign `person` in; then end the test's read snapshot, which the login's write made stale
    (SQLite refuses to upgrade a stale snapshot to a write)."""
    auth.login(person.email)
    db.session.rollback()


@pytest.fixture
def operator(make):
    return new_operator(make, price_ore=None)


@pytest.fixture
def priced(make):
    return new_operator(make)


@pytest.fixture
def signed_in(auth, priced):
    login(auth, priced)
    return priced


def count(model):
    db.session.rollback()
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def actions():
    db.session.rollback()
    return db.session.scalars(db.select(AuditEvent.action).order_by(AuditEvent.id)).all()


def post_with_token(client, page_url, url, data=None, **options):
    page = client.get(page_url).get_data(as_text=True)
    return client.post(url, data={"csrf_token": csrf_token(page), **(data or {})}, **options)


# The domain functions


def test_approval_creates_the_organisation_and_invoices_package_one(app, priced):
    order = place()
    approval = approve(order.id, priced)
    order = fresh(order)
    assert order.status == OrderStatus.ACTIVATED
    assert order.decided_by_id == priced.id
    assert order.decided_at == order.activated_at is not None
    organisation = db.session.get(Organisation, order.organisation_id)
    assert organisation.sms_status == SmsStatus.ACTIVE
    assert (organisation.name, organisation.org_number) == (order.org_name, order.org_number)
    assert organisation.kind == OrgKind.FRISKOLA
    assert organisation.invoice_address == order.invoice_address
    assert organisation.invoice_reference == "Mats Öberg"
    assert organisation.peppol_id == "0007:5599001236"
    assert organisation.contact_email == "mats.oberg@example.org"
    (package,) = db.session.scalars(db.select(SmsPackage)).all()
    assert (package.sequence, package.size, package.used) == (1, app.config["SMS_PACKAGE_SIZE"], 0)
    assert package.invoice.amount_ore == PRICE_ORE
    assert approval.package.id == package.id
    assert actions()[-3:] == ["package.opened", "sms.activated", "order.approved"]
    event = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (event.actor_id, event.organisation_id) == (priced.id, organisation.id)
    assert event.details["invoice"] == package.invoice.number
    assert event.at is not None


def test_approval_links_the_existing_organisation_and_carries_the_invoice_details(make, priced):
    existing = make.org(name="Gamla namnet AB", sms=SmsStatus.INACTIVE, kind=OrgKind.FRISKOLA)
    order = place(org_number=existing.org_number, invoice_reference="Ny referens")
    approve(order.id, priced)
    assert fresh(order).organisation_id == existing.id
    existing = fresh(existing)
    assert existing.name == "Gamla namnet AB"  # the organisation keeps its name
    assert existing.invoice_reference == "Ny referens"
    assert existing.sms_status == SmsStatus.ACTIVE
    assert count(Organisation) == 1
    assert count(Invoice) == 1


def test_reapproval_continues_the_open_package_and_invoices_nothing(make, priced):
    first = place()
    approve(first.id, priced)
    organisation = db.session.get(Organisation, fresh(first).organisation_id)
    with write_transaction():
        deactivate_sms(db.session.merge(organisation), by=priced, reason="Paus")
    second = place(org_number=organisation.org_number)
    approval = approve(second.id, priced)
    assert approval.package is None
    assert fresh(organisation).sms_status == SmsStatus.ACTIVE
    assert count(SmsPackage) == 1
    assert count(Invoice) == 1


def test_approval_without_a_price_is_refused_and_changes_nothing(operator):
    order = place()
    with pytest.raises(NoPrice):
        approve(order.id, operator)
    assert fresh(order).status == OrderStatus.RECEIVED
    assert count(Organisation) == 0
    assert count(SmsPackage) == 0
    assert "order.approved" not in actions()


def test_rejection_stores_the_reason_and_who(priced):
    order = place()
    reject(order.id, priced, "Organisationsnumret tillhör inte en skolhuvudman.")
    order = fresh(order)
    assert order.status == OrderStatus.REJECTED
    assert order.rejection_reason == "Organisationsnumret tillhör inte en skolhuvudman."
    assert order.decided_by_id == priced.id and order.decided_at is not None
    assert order.activated_at is None
    assert actions()[-1] == "order.rejected"
    assert count(Organisation) == 0


def test_a_decided_order_cannot_be_decided_again(priced):
    order = place()
    reject(order.id, priced, "Dubblett")
    with pytest.raises(AlreadyDecided) as refused:
        approve(order.id, priced)
    assert "Beställningen har redan beslutats av Sofia Nordin" in refused.value.message
    assert "Avslagen" in refused.value.message
    assert count(SmsPackage) == 0


def test_an_unknown_order_is_a_lookup_error(priced):
    with pytest.raises(LookupError):
        approve(10**9, priced)


def _race(app, order_id, deciders):
    """Run each decider(order_id, operator) in its own thread, session and operator,
    released together; returns what each returned or raised."""
    barrier = threading.Barrier(len(deciders))
    results = []

    def run(decide, operator_id):
        with app.app_context():
            operator = db.session.get(Person, operator_id)
            barrier.wait()
            try:
                results.append(decide(order_id, operator))
            except AlreadyDecided as refused:
                results.append(refused)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=pair) for pair in deciders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_operators_approving_at_once_make_one_activation(app, make, priced):
    other = make.person(Role.OPERATOR)
    order = place()
    results = _race(app, order.id, [(approve, priced.id), (approve, other.id)])
    refusals = [result for result in results if isinstance(result, AlreadyDecided)]
    assert len(results) == 2 and len(refusals) == 1
    assert count(Organisation) == 1
    assert count(SmsPackage) == 1
    assert count(Invoice) == 1
    assert actions().count("order.approved") == 1
    assert actions().count("sms.activated") == 1


def test_approve_and_reject_at_once_one_wins(app, make, priced):
    other = make.person(Role.OPERATOR)
    order = place()

    def rejecting(order_id, operator):
        return reject(order_id, operator, "Fel organisation")

    results = _race(app, order.id, [(approve, priced.id), (rejecting, other.id)])
    assert sum(isinstance(result, AlreadyDecided) for result in results) == 1
    order = fresh(order)
    if order.status == OrderStatus.ACTIVATED:
        assert (count(SmsPackage), order.rejection_reason) == (1, None)
    else:
        assert order.status == OrderStatus.REJECTED
        assert (count(SmsPackage), count(Organisation)) == (0, 0)
    decisions = [a for a in actions() if a in ("order.approved", "order.rejected")]
    assert len(decisions) == 1


# The e-mail to the orderer


def test_approval_mails_the_orderer_with_the_invoice(app, priced, run_jobs, smtp_server):
    app.config["MAIL_URL"] = smtp_server.url
    order = place()
    approve(order.id, priced)
    run_jobs()
    decision_mails = [m for m in smtp_server.messages if "aktiverat" in m["Subject"]]
    (mail,) = decision_mails
    assert mail["To"] == "mats.oberg@example.org"
    assert mail["Subject"] == f"SMS är aktiverat för Friskolan Solgläntan AB ({order.number})"
    body = mail.get_content()
    invoice = db.session.scalars(db.select(Invoice)).one()
    assert "Paket 1 om 10\xa0000 SMS har öppnats och faktureras nu." in body
    assert invoice.number in body
    assert "4\xa0500,00\xa0kr exklusive moms" in body
    assert f"/order/{order.token}" in body


def test_rejection_mails_the_orderer_with_the_reason(app, priced, run_jobs, smtp_server):
    app.config["MAIL_URL"] = smtp_server.url
    order = place()
    reject(order.id, priced, "Vi når inte er fakturaadress.\nRing oss gärna.")
    run_jobs()
    (mail,) = [m for m in smtp_server.messages if "inte godkänts" in m["Subject"]]
    body = mail.get_content().replace("\r\n", "\n")
    assert "Vi når inte er fakturaadress.\nRing oss gärna." in body
    assert "ingenting faktureras" in body


def test_reactivation_mail_says_no_new_invoice(app, priced, run_jobs, smtp_server):
    first = place()
    approve(first.id, priced)
    organisation = db.session.get(Organisation, fresh(first).organisation_id)
    with write_transaction():
        deactivate_sms(db.session.merge(organisation), by=priced)
    app.config["MAIL_URL"] = smtp_server.url
    run_jobs()  # the first order's mails
    second = place(org_number=organisation.org_number)
    approve(second.id, priced)
    run_jobs()
    (mail,) = [m for m in smtp_server.messages if second.number in m["Subject"]]
    assert "Ingen ny faktura" in mail.get_content()


# Through the pages


def test_the_order_page_shows_the_order_and_the_decision_buttons(client, signed_in):
    order = place(comment="Vi vill gärna komma igång före höstterminen.")
    page = client.get(f"/admin/orders/{order.id}").get_data(as_text=True)
    for text in (
        order.number,
        "Friskolan Solgläntan AB",
        "Fristående skola",
        order.org_number,
        "Mats Öberg",
        "070-174 06 05",
        "Storgatan 12",
        "0007:5599001236",
        "före höstterminen",
        "Nej – organisationen skapas",
        "h kvar",
    ):
        assert text in page, text
    assert f'hx-get="/admin/orders/{order.id}/approve"' in page
    assert f'href="/admin/orders/{order.id}/approve"' in page
    assert ">Godkänn</a>" in page and ">Avslå</a>" in page


def test_the_approve_confirmation_shows_what_happens_and_changes_nothing(client, signed_in):
    order = place()
    response = client.get(f"/admin/orders/{order.id}/approve", headers={"HX-Request": "true"})
    fragment = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h1" not in fragment  # only the panel
    assert "Friskolan Solgläntan AB" in fragment
    assert "10\xa0000 SMS" in fragment
    assert "4\xa0500,00\xa0kr" in fragment and "exkl. moms" in fragment
    assert "Paket 1 faktureras nu" in fragment
    assert "Bekräfta aktivering</button>" in fragment and "Avbryt" in fragment
    assert fresh(order).status == OrderStatus.RECEIVED
    full = client.get(f"/admin/orders/{order.id}/approve").get_data(as_text=True)
    assert "<h1>" in full and "Paket 1 faktureras nu" in full


def test_the_confirmation_for_an_organisation_with_units_left_says_the_package_continues(
    client, signed_in
):
    first = place()
    approve(first.id, signed_in)
    organisation = db.session.get(Organisation, fresh(first).organisation_id)
    with write_transaction():
        deactivate_sms(db.session.merge(organisation), by=signed_in)
    second = place(org_number=organisation.org_number)
    fragment = client.get(
        f"/admin/orders/{second.id}/approve", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "Paketet fortsätter – ingen ny faktura" in fragment
    assert "faktureras nu" not in fragment


def test_approving_through_the_page_activates_and_reports(client, signed_in):
    order = place()
    url = f"/admin/orders/{order.id}/approve"
    response = post_with_token(client, url, url)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/admin/orders/{order.id}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "SMS är aktiverat för Friskolan Solgläntan AB" in page
    assert "Paket 1 är fakturerat" in page
    assert fresh(order).status == OrderStatus.ACTIVATED
    assert "Sofia Nordin" in page


def test_htmx_approval_reloads_the_page(client, signed_in):
    order = place()
    url = f"/admin/orders/{order.id}/approve"
    response = post_with_token(client, url, url, headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == f"/admin/orders/{order.id}"


def test_approving_without_a_price_through_the_page_is_refused(client, auth, operator):
    login(auth, operator)
    order = place()
    url = f"/admin/orders/{order.id}/approve"
    fragment = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Det finns inget paketpris" in fragment
    assert "Bekräfta aktivering" not in fragment
    response = post_with_token(client, url, url)
    assert response.status_code == 409
    assert "Det finns inget paketpris. Ange priset innan SMS aktiveras." in response.get_data(
        as_text=True
    )
    assert fresh(order).status == OrderStatus.RECEIVED
    assert count(Organisation) == 0


def test_rejecting_through_the_page_updates_the_public_status_page(app, client, signed_in):
    order = place()
    url = f"/admin/orders/{order.id}/reject"
    form = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert re.search(r'<label class="label" for="reason">Anledning</label>', form)
    assert "Bekräfta avslag</button>" in form
    response = post_with_token(client, url, url, {"reason": "  Fel organisationsnummer.  "})
    assert response.status_code == 303
    assert fresh(order).rejection_reason == "Fel organisationsnummer."
    status = app.test_client().get(f"/order/{order.token}").get_data(as_text=True)
    assert "Avslagen" in status and "Fel organisationsnummer." in status


@pytest.mark.parametrize(
    ("reason", "error"),
    [
        ("", "Skriv varför beställningen avslås."),
        ("   \r\n ", "Skriv varför beställningen avslås."),
        ("x" * 1001, "Högst 1000 tecken."),
        ("Fel\x00nummer", "Texten innehåller otillåtna tecken."),
        ("Fel\x1b[31m", "Texten innehåller otillåtna tecken."),
    ],
)
def test_a_bad_reason_is_422_with_the_error_at_the_field(client, signed_in, reason, error):
    order = place()
    url = f"/admin/orders/{order.id}/reject"
    response = post_with_token(client, url, url, {"reason": reason}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    fragment = response.get_data(as_text=True)
    assert "<h1" not in fragment
    assert 'id="reason-error"' in fragment and error in fragment
    assert 'aria-invalid="true"' in fragment
    assert fresh(order).status == OrderStatus.RECEIVED
    assert "order.rejected" not in actions()


def test_a_second_decision_through_the_page_is_told_who_decided(client, signed_in, make):
    order = place()
    other = make.person(Role.OPERATOR, given_name="Erik", family_name="Ek")
    reject(order.id, other, "Dubblett")
    url = f"/admin/orders/{order.id}/approve"
    page = client.get(url).get_data(as_text=True)
    assert "Bekräfta aktivering" not in page  # a decided order offers no decision
    response = post_with_token(client, f"/admin/orders/{order.id}", url)
    assert response.status_code == 409
    assert "Beställningen har redan beslutats av Erik Ek" in response.get_data(as_text=True)
    assert fresh(order).status == OrderStatus.REJECTED
    htmx = post_with_token(client, f"/admin/orders/{order.id}", url, headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"] == f"/admin/orders/{order.id}"
    reloaded = client.get(f"/admin/orders/{order.id}").get_data(as_text=True)
    assert "Beställningen har redan beslutats av Erik Ek" in reloaded


def test_unknown_orders_are_404(client, signed_in):
    for url in ("/admin/orders/999999", "/admin/orders/999999/approve"):
        assert client.get(url).status_code == 404
    response = post_with_token(
        client, "/admin/orders", "/admin/orders/999999/reject", {"reason": "x"}
    )
    assert response.status_code == 404
