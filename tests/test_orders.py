"""The public order form: valid orders, every class of bad input, duplicates, status, abuse."""

import re
import threading

import pytest

from portal.extensions import db
from portal.models import AuditEvent, OrderStatus, OrgKind, Role, SmsOrder, SmsStatus
from portal.models.base import utcnow
from portal.orders.placing import Refusal, place_order
from portal.queue import get_queue
from tests.conftest import csrf_token

STOCKHOLM = "212000-0142"  # Stockholms stad, a real and valid municipal number
GOTEBORG = "212000-1355"  # Göteborgs stad
FRISKOLA = "556036-0793"


@pytest.fixture
def order_form(app, client):
    """Posts the order form as a browser would: token, start stamp, and the fields."""
    app.config["ORDER_MIN_FILL_SECONDS"] = 0

    def post(**changes):
        page = client.get("/order").get_data(as_text=True)
        started = re.search(r'name="started" type="hidden" value="([^"]+)"', page).group(1)
        data = {"csrf_token": csrf_token(page), "started": started, **valid_order(), **changes}
        return client.post("/order", data={k: v for k, v in data.items() if v is not None})

    return post


def valid_order(**changes):
    return {
        "org_kind": "kommun",
        "org_name": "Stockholms stad",
        "org_number": STOCKHOLM,
        "contact_name": "Åsa Öberg",
        "contact_email": "Asa.Oberg@Stockholm.se",
        "contact_phone": "08-508 290 00",
        "invoice_address": "Stockholms stad\r\nUtbildningsförvaltningen\r\nBox 22049\r\n"
        "104 22 Stockholm",
        "invoice_reference": "UTB 1234",
        "peppol_id": "",
        "comment": "",
        "accept_terms": "y",
        **changes,
    }


def orders():
    db.session.rollback()
    return db.session.scalars(db.select(SmsOrder).order_by(SmsOrder.id)).all()


def test_the_form_shows_the_terms_and_every_labelled_field(client):
    page = client.get("/order").get_data(as_text=True)
    for label in (
        "Organisationens namn",
        "Organisationsnummer",
        "Kontaktperson",
        "E-postadress",
        "Telefonnummer",
        "Fakturaadress",
        "Fakturareferens",
        "Peppol-ID eller GLN (valfritt)",
        "Övrigt (valfritt)",
        "Jag är behörig att beställa för organisationen och godkänner villkoren",
        "Kommun",
        "Fristående skola",
    ):
        assert re.search(rf'<label[^>]* for="[^"]+">{re.escape(label)}</label>', page), label
    assert "<legend" in page and "Typ av organisation" in page
    assert "paket om 10\xa0000 SMS" in page
    assert "aldrig av personal, elever eller vårdnadshavare" in page
    assert "inom ett dygn" in page
    assert "Skicka beställning</button>" in page


@pytest.mark.parametrize(
    ("changes", "kind"),
    [
        ({}, OrgKind.KOMMUN),
        ({"org_number": "2120001355", "org_name": "Göteborgs stad"}, OrgKind.KOMMUN),
        (
            {
                "org_kind": "friskola",
                "org_number": f"16{FRISKOLA.replace('-', '')}",
                "org_name": "Friskolan Exempel AB",
                "peppol_id": "0007:5560360793",
            },
            OrgKind.FRISKOLA,
        ),
    ],
)
def test_a_valid_order_is_stored_normalised_and_receipted(order_form, client, changes, kind):
    response = order_form(**changes)
    assert response.status_code == 303
    (order,) = orders()
    assert order.org_kind == kind
    assert re.fullmatch(r"SMS-\d{4}-\d{6}", order.number)
    assert re.fullmatch(r"\d{6}-\d{4}", order.org_number)
    assert order.contact_email == "asa.oberg@stockholm.se"
    assert order.contact_phone == "+46850829000"
    assert order.invoice_address.count("\n") == 3 and "\r" not in order.invoice_address
    assert order.status == OrderStatus.RECEIVED
    assert len(order.token) >= 43  # 32 random bytes, URL-safe

    receipt = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Tack! Vi har tagit emot er beställning" in receipt
    assert order.number in receipt
    assert f"/order/{order.token}" in receipt
    assert "SMS aktiveras senast" in receipt
    again = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Tack!" not in again and order.number in again


def test_only_the_browser_that_ordered_sees_the_receipt(order_form, app):
    response = order_form()
    location = response.headers["Location"]
    (cookie,) = response.headers.getlist("Set-Cookie")  # the session is left as it was
    assert cookie.startswith("order_receipt=")
    assert f"Path={location};" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    (order,) = orders()
    forged = app.test_client()
    forged.set_cookie("order_receipt", "forged", path=location)
    for other in (app.test_client(), forged):
        page = other.get(location).get_data(as_text=True)
        assert order.number in page
        assert "Tack!" not in page and order.contact_email not in page


def test_the_order_is_audited(order_form):
    order_form()
    (event,) = db.session.scalars(db.select(AuditEvent)).all()
    assert event.action == "order.received"


def test_order_numbers_count_up(order_form):
    order_form()
    order_form(org_number=GOTEBORG)
    first, second = orders()
    assert int(second.number[-6:]) == int(first.number[-6:]) + 1


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"org_kind": None}, "org_kind", "Välj om organisationen"),
        ({"org_kind": "landsting"}, "org_kind", "Välj om organisationen"),
        ({"org_name": "   "}, "org_name", "Ange organisationens namn."),
        ({"org_name": "x" * 201}, "org_name", "Högst 200 tecken."),
        ({"org_name": "Skola\x00AB"}, "org_name", "otillåtna tecken"),
        ({"org_name": "Skola\u202eBA"}, "org_name", "otillåtna tecken"),
        ({"org_number": ""}, "org_number", "Ange organisationsnumret."),
        ({"org_number": "12345"}, "org_number", "NNNNNN-NNNN"),
        ({"org_number": "212000-0143"}, "org_number", "kontrollsiffra"),
        ({"org_number": "211000-0142"}, "org_number", "tredje siffran"),
        ({"org_number": "18212000-0142"}, "org_number", "NNNNNN-NNNN"),
        ({"org_number": FRISKOLA}, "org_number", "En kommuns organisationsnummer börjar med 2."),
        ({"contact_name": ""}, "contact_name", "Ange namnet på kontaktpersonen."),
        ({"contact_email": "inte en adress"}, "contact_email", "namn@exempel.se"),
        ({"contact_email": "a@b"}, "contact_email", "namn@exempel.se"),
        ({"contact_phone": "123"}, "contact_phone", "Telefonnumret finns inte"),
        ({"contact_phone": "ring mig"}, "contact_phone", "Ange ett telefonnummer"),
        ({"invoice_address": ""}, "invoice_address", "Ange fakturaadressen."),
        ({"invoice_reference": ""}, "invoice_reference", "Ange en fakturareferens."),
        ({"peppol_id": "0007:2120000143"}, "peppol_id", "Peppol-ID"),
        ({"peppol_id": "7350000000001"}, "peppol_id", "Peppol-ID"),
        ({"comment": "x" * 2001}, "comment", "Högst 2000 tecken."),
        ({"accept_terms": None}, "accept_terms", "Bekräfta att du är behörig"),
    ],
)
def test_bad_input_is_refused_at_the_field_and_nothing_is_stored(
    order_form, changes, field, message
):
    response = order_form(**changes)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = re.search(rf'<p class="error-message" id="{field}-error">(.*?)</p>', page, re.S)
    assert error, page
    assert message in error.group(1)
    assert f'<a href="#{field}">' in page  # the summary links to the field
    assert orders() == []


def test_valid_peppol_forms_are_normalised(order_form):
    order_form(peppol_id=" 7350000000009 ")
    assert orders()[0].peppol_id == "0088:7350000000009"


def test_an_organisation_with_an_order_waiting_is_told_its_number(order_form):
    first = order_form()
    (order,) = orders()
    response = order_form(org_number="2120000142", contact_name="Någon Annan")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert order.number in page
    assert f"/order/{order.token}" in page
    assert len(orders()) == 1
    assert first.status_code == 303


def test_an_organisation_with_sms_active_is_told_so(order_form, make):
    make.org(org_number=STOCKHOLM, sms=SmsStatus.ACTIVE)
    response = order_form()
    assert "SMS är redan aktiverat" in response.get_data(as_text=True)
    assert orders() == []


def test_a_deactivated_organisation_may_order_again(order_form, make):
    organisation = make.org(org_number=STOCKHOLM, sms=SmsStatus.DEACTIVATED)
    assert order_form().status_code == 303
    assert orders()[0].organisation_id == organisation.id


def test_concurrent_orders_for_one_organisation_make_one_order(app):
    fields = {
        **valid_order(),
        "org_kind": OrgKind.KOMMUN,
        "contact_phone": "+46850829000",
        "invoice_address": "Box 1",
    }
    fields.pop("accept_terms")
    barrier = threading.Barrier(4)
    results = []

    def place():
        with app.app_context():
            barrier.wait()
            placement = place_order(fields)
            results.append(placement.refusal)
            db.session.remove()

    threads = [threading.Thread(target=place) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results, key=str) == [None, *[Refusal.ORDER_WAITING] * 3]
    assert len(orders()) == 1


def test_the_status_page_shows_state_and_dates_and_nothing_else(order_form, app):
    order_form(comment="Hemlig kommentar")
    (order,) = orders()
    order.status = OrderStatus.REJECTED
    order.rejection_reason = "Organisationsnumret tillhör inte en skolhuvudman."
    order.decided_at = utcnow()
    db.session.commit()
    response = app.test_client().get(f"/order/{order.token}")
    page = response.get_data(as_text=True)
    assert "Avslagen" in page
    assert "tillhör inte en skolhuvudman" in page
    for secret in ("Hemlig kommentar", "UTB 1234", "Box 22049", "+46850829000", "asa.oberg"):
        assert secret not in page
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_an_unknown_status_link_is_404(client):
    assert client.get("/order/" + "x" * 43).status_code == 404


def test_inline_validation_returns_the_field_fragment(order_form, client):
    page = client.get("/order").get_data(as_text=True)
    data = {**valid_order(org_number="212000-0143"), "csrf_token": csrf_token(page)}
    response = client.post("/order/validate/org_number", data=data, headers={"HX-Request": "true"})
    assert response.status_code == 422
    fragment = response.get_data(as_text=True)
    assert fragment.lstrip().startswith('<div class="form-group form-group-error">')
    assert "kontrollsiffra" in fragment
    assert 'hx-post="/order/validate/org_number"' in fragment
    fixed = client.post(
        "/order/validate/org_number",
        data={**data, "org_number": "2120000142"},
        headers={"HX-Request": "true"},
    )
    assert fixed.status_code == 200
    assert "error-message" not in fixed.get_data(as_text=True)
    assert 'value="2120000142"' in fixed.get_data(as_text=True)  # what the person typed
    assert client.post("/order/validate/csrf_token", data=data).status_code == 404
    assert orders() == []


def test_a_filled_honeypot_is_dropped_silently(order_form):
    response = order_form(website="http://spam.example")
    assert response.status_code == 200
    assert "Tack" in response.get_data(as_text=True)
    assert orders() == []


def test_a_form_posted_too_fast_is_dropped_silently(order_form, app):
    app.config["ORDER_MIN_FILL_SECONDS"] = 60
    assert order_form().status_code == 200
    assert orders() == []


def test_a_forged_start_stamp_is_dropped(order_form):
    assert order_form(started="1700000000.0").status_code == 200
    assert orders() == []


def test_a_post_without_a_start_stamp_is_judged_on_its_fields(order_form):
    assert order_form(started="").status_code == 303
    assert len(orders()) == 1


def test_submissions_are_rate_limited_per_address(order_form):
    statuses = [order_form(org_name="").status_code for _ in range(6)]
    assert statuses == [422] * 5 + [429]
    refused = order_form()
    assert "För många försök" in refused.get_data(as_text=True)
    assert refused.headers["Retry-After"] == "60"


def test_a_huge_body_is_413(client):
    page = client.get("/order").get_data(as_text=True)
    response = client.post(
        "/order", data={"csrf_token": csrf_token(page), "comment": "x" * 100_000}
    )
    assert response.status_code == 413
    assert orders() == []


def test_the_order_form_needs_csrf(client):
    response = client.post("/order", data=valid_order())
    assert response.status_code == 400
    assert orders() == []


def test_the_orderer_and_the_operators_are_mailed(order_form, app, make, run_jobs, smtp_server):
    app.config["MAIL_URL"] = smtp_server.url
    operator = make.person(Role.OPERATOR)
    order_form()
    (order,) = orders()
    run_jobs()
    by_recipient = {
        message["To"].addresses[0].addr_spec: message for message in smtp_server.messages
    }
    receipt = by_recipient["asa.oberg@stockholm.se"]
    assert order.number in receipt["Subject"]
    assert f"/order/{order.token}" in receipt.get_content()
    notice = by_recipient[operator.email]
    assert "Stockholms stad" in notice["Subject"]


# The empty form is rendered once per language and kept; each visitor's values are put in.


def per_request(page):
    """The CSRF token and the start stamp on a form page, and the page without them."""
    values = {
        name: re.search(rf'name="{name}" type="hidden" value="([^"]+)"', page).group(1)
        for name in ("csrf_token", "started")
    }
    for value in values.values():
        page = page.replace(value, "")
    return values, page


def test_each_visitor_gets_their_own_token_and_stamp_on_the_kept_form(app):
    app.config["ORDER_MIN_FILL_SECONDS"] = 0
    first, second = app.test_client(), app.test_client()
    (mine, page), (theirs, kept), (again, _) = (
        per_request(client.get("/order").get_data(as_text=True))
        for client in (first, second, first)
    )
    assert kept == page
    assert mine["csrf_token"] != theirs["csrf_token"]
    assert len({mine["started"], theirs["started"], again["started"]}) == 3

    refused = first.post("/order", data={**valid_order(), **theirs})
    assert refused.status_code == 400
    assert second.post("/order", data={**valid_order(), **theirs}).status_code == 303
    other = first.post("/order", data={**valid_order(org_number=GOTEBORG), **again})
    assert other.status_code == 303
    assert len(orders()) == 2


def test_pages_that_differ_from_the_kept_form_are_rendered_in_full(client, auth, make):
    page = client.get("/order").get_data(as_text=True)
    campaign = client.get("/order?kampanj=1").get_data(as_text=True)
    assert 'name="next" value="/order?kampanj=1"' in campaign
    client.post("/language", data={"lang": "en", "next": "/order", "csrf_token": csrf_token(page)})
    assert "Organisation number" in client.get("/order").get_data(as_text=True)
    auth.login(make.person(Role.STAFF).email)
    page = client.get("/order").get_data(as_text=True)
    client.post("/language", data={"lang": "sv", "next": "/order", "csrf_token": csrf_token(page)})
    signed_in = client.get("/order").get_data(as_text=True)
    assert "Organisationsnummer" in signed_in and "Logga ut" in signed_in


def test_an_order_queues_one_job_that_queues_its_two_mails(order_form):
    order_form()
    (order,) = orders()
    assert get_queue("mail").job_ids == [f"order-emails-{order.id}"]
