"""Who may open the billing, price, invoice and audit pages: every route × every role."""

import pytest

from portal.models import Role, SmsStatus
from portal.models.base import utcnow
from tests.conftest import csrf_token

OPERATOR_ROUTES = [
    ("GET", "/admin/price"),
    ("POST", "/admin/price"),
    ("GET", "/admin/invoices"),
    ("GET", "/admin/invoices.csv"),
    ("GET", "/admin/audit"),
]
ADMIN_ROUTES = [
    ("GET", "/billing"),
    ("GET", "/billing/deactivate"),
    ("POST", "/billing/deactivate"),
]
ORG_ROLES = [role for role in Role if role != Role.OPERATOR]


@pytest.fixture
def signed_in(make, auth, client):
    """Sign in someone with `role`; returns a CSRF token for their POSTs."""

    def sign_in(role):
        organisation = None if role == Role.OPERATOR else make.org(sms=SmsStatus.ACTIVE)
        person = make.person(role, organisation, terms_accepted_at=utcnow())
        auth.login(person.email)
        return csrf_token(client.get("/profile").get_data(as_text=True))

    return sign_in


def request(client, method, path, token=None):
    data = {"csrf_token": token, "price": "4500"} if method == "POST" else None
    return client.open(path, method=method, data=data)


@pytest.mark.parametrize(("method", "path"), OPERATOR_ROUTES + ADMIN_ROUTES)
def test_signed_out_visitors_are_sent_to_login(client, method, path):
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = request(client, method, path, token)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("role", ORG_ROLES)
@pytest.mark.parametrize(("method", "path"), OPERATOR_ROUTES)
def test_operator_pages_are_closed_to_every_other_role(client, signed_in, role, method, path):
    token = signed_in(role)
    assert request(client, method, path, token).status_code in (403, 404)


@pytest.mark.parametrize("role", [role for role in Role if role != Role.ADMIN])
@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_billing_is_closed_to_everyone_but_the_organisations_admins(
    client, signed_in, role, method, path
):
    token = signed_in(role)
    assert request(client, method, path, token).status_code == 403


@pytest.mark.parametrize(("method", "path"), OPERATOR_ROUTES)
def test_operators_may_use_their_pages(client, signed_in, method, path):
    token = signed_in(Role.OPERATOR)
    assert request(client, method, path, token).status_code in (200, 303)


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES[:2])
def test_admins_may_open_billing(client, signed_in, method, path):
    token = signed_in(Role.ADMIN)
    assert request(client, method, path, token).status_code == 200
