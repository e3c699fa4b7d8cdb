"""Usage for admins on /billing (chart and table) and the usage ledger behind each
invoice, for the organisation's admins and for operators (issue #7, point 7)."""

import re

import pytest

from portal.billing.packages import activate_sms
from portal.billing.prices import set_price
from portal.database import write_transaction
from portal.extensions import db
from portal.models import Invoice, Message, Role, SmsPackage, SmsStatus
from portal.models.base import utcnow
from tests.conftest import csrf_token
from tests.test_billing_usage import new_message

ORG_ROLES = [role for role in Role if role != Role.OPERATOR]


@pytest.fixture
def operator(make):
    operator = make.person(Role.OPERATOR, email="drift@sms-portalen.se")
    with write_transaction():
        set_price(450_000, operator)
    return operator


def activated_org(make, operator):
    organisation = make.org(sms=SmsStatus.INACTIVE)
    with write_transaction():
        activate_sms(db.session.merge(organisation), by=operator)
    return organisation


@pytest.fixture
def org(make, operator):
    return activated_org(make, operator)


def invoices(organisation):
    db.session.rollback()
    return db.session.scalars(
        db.select(Invoice)
        .join(SmsPackage, SmsPackage.id == Invoice.package_id)
        .where(Invoice.organisation_id == organisation.id)
        .order_by(SmsPackage.sequence)
    ).all()


def sign_in(make, auth, role, organisation=None):
    person = make.person(role, organisation, terms_accepted_at=utcnow())
    auth.login(person.email)
    return person


def text(response):
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_billing_shows_usage_per_month_as_a_chart_and_a_table(client, make, auth, org):
    new_message(make, org, "Utflykt på fredag", 1234)
    new_message(make, org, "Studiedag", 16)
    sign_in(make, auth, Role.ADMIN, org)
    html = text(client.get("/billing"))
    svg = re.search(r"<svg[^>]*>.*?</svg>", html, re.S).group(0)
    assert 'role="img"' in svg and 'aria-labelledby="usage-chart-title usage-chart-desc"' in svg
    assert '<title id="usage-chart-title">SMS per månad, de senaste 12 månaderna</title>' in svg
    assert "Totalt 1\u00a0250 SMS" in svg
    assert svg.count('class="chart-month"') == 12
    assert svg.count('class="chart-bar"') == 1
    assert "style=" not in html and "<script>" not in html
    month = re.search(
        r'<th scope="row">(\w+ \d{4})</th>\s*<td class="numeric">1\u00a0250</td>'
        r'\s*<td class="numeric">2</td>',
        html,
    )
    assert month and month.group(1).split()[0] in {
        "januari", "februari", "mars", "april", "maj", "juni", "juli",
        "augusti", "september", "oktober", "november", "december",
    }  # fmt: skip


def test_without_usage_the_page_says_so(client, make, auth, org):
    sign_in(make, auth, Role.ADMIN, org)
    html = text(client.get("/billing"))
    assert "Inga SMS har skickats de senaste 12 månaderna." in html
    assert "<svg" not in html


def test_the_usage_page_is_in_english_too(client, make, auth, org):
    new_message(make, org, "Utflykt", 3)
    sign_in(make, auth, Role.ADMIN, org)
    token = csrf_token(text(client.get("/billing")))
    client.post("/language", data={"csrf_token": token, "lang": "en"})
    html = text(client.get("/billing"))
    assert "SMS per month, the last 12 months" in html


def test_an_invoice_shows_which_messages_used_its_package(client, make, auth, org):
    first = new_message(make, org, "Utflykt på fredag", 9_000)
    second = new_message(make, org, "Studiedag", 1_500)  # 1 000 from package 1, 500 from package 2
    one, two = invoices(org)
    sign_in(make, auth, Role.ADMIN, org)

    overview = text(client.get("/billing"))
    assert f'href="/billing/invoices/{one.id}"' in overview

    html = text(client.get(f"/billing/invoices/{one.id}"))
    assert f"Faktura {one.number}" in html
    assert "Paket 1, 10\u00a0000 SMS" in html
    assert "5\u00a0625,00\u00a0kr" in html
    rows = re.findall(r"<tr>\s*<td class=\"nowrap\">.*?</tr>", html, re.S)
    assert len(rows) == 2
    assert f'href="/messages/{first.id}">Utflykt på fredag</a>' in rows[0]
    assert ">9\u00a0000<" in rows[0]
    assert f'href="/messages/{second.id}">Studiedag</a>' in rows[1]
    assert ">1\u00a0000<" in rows[1]
    assert '<strong id="ledger-total">10\u00a0000</strong>' in html
    assert "tog slut" in html

    html = text(client.get(f"/billing/invoices/{two.id}"))
    assert '<strong id="ledger-total">500</strong>' in html
    assert "används nu" in html
    assert "Utflykt" not in html


def test_an_erased_message_is_listed_without_its_text(client, make, auth, org):
    message = new_message(make, org, "Hemligt innehåll", 3)
    with write_transaction():
        db.session.get(Message, message.id).erased_at = utcnow()
    (invoice,) = invoices(org)
    sign_in(make, auth, Role.ADMIN, org)
    html = text(client.get(f"/billing/invoices/{invoice.id}"))
    assert "Raderat meddelande" in html and "Hemligt" not in html
    assert '<strong id="ledger-total">3</strong>' in html


def test_a_long_ledger_is_paginated_and_the_sum_covers_every_page(client, make, auth, org):
    for n in range(52):
        new_message(make, org, f"Meddelande {n}", 2)
    (invoice,) = invoices(org)
    sign_in(make, auth, Role.ADMIN, org)
    first = text(client.get(f"/billing/invoices/{invoice.id}"))
    second = text(client.get(f"/billing/invoices/{invoice.id}?page=2"))
    assert "Sida 1 av 2" in first and "Meddelande 49<" in first and "Meddelande 50<" not in first
    assert "Meddelande 51<" in second
    assert '<strong id="ledger-total">104</strong>' in first
    assert client.get(f"/billing/invoices/{invoice.id}?page=99").status_code == 200


def test_an_invoice_of_another_organisation_is_not_found(client, make, auth, operator, org):
    other = activated_org(make, operator)
    (foreign,) = invoices(other)
    sign_in(make, auth, Role.ADMIN, org)
    assert client.get(f"/billing/invoices/{foreign.id}").status_code == 404
    assert client.get("/billing/invoices/999999").status_code == 404


@pytest.mark.parametrize("role", [role for role in Role if role != Role.ADMIN])
def test_only_the_organisations_admins_see_its_invoice_page(client, make, auth, org, role):
    (invoice,) = invoices(org)
    sign_in(make, auth, role, None if role == Role.OPERATOR else org)
    assert client.get(f"/billing/invoices/{invoice.id}").status_code == 403


@pytest.mark.parametrize("role", ORG_ROLES)
def test_the_operators_invoice_page_is_closed_to_every_other_role(client, make, auth, org, role):
    (invoice,) = invoices(org)
    sign_in(make, auth, role, org)
    assert client.get(f"/admin/invoices/{invoice.id}").status_code in (403, 404)


@pytest.mark.parametrize("path", ["/billing/invoices/{id}", "/admin/invoices/{id}"])
def test_signed_out_visitors_are_sent_to_login(client, org, path):
    (invoice,) = invoices(org)
    response = client.get(path.format(id=invoice.id))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_operators_see_the_same_ledger_from_the_invoice_list(client, make, auth, org):
    new_message(make, org, "Utflykt på fredag", 7)
    (invoice,) = invoices(org)
    sign_in(make, auth, Role.OPERATOR)
    listing = text(client.get("/admin/invoices"))
    assert f'href="/admin/invoices/{invoice.id}"' in listing
    html = text(client.get(f"/admin/invoices/{invoice.id}"))
    assert org.name in html and org.org_number in html
    assert "Utflykt på fredag" in html and 'href="/messages/' not in html
    assert '<strong id="ledger-total">7</strong>' in html
    assert "Tillbaka till fakturorna" in html
    assert client.get("/admin/invoices/999999").status_code == 404
