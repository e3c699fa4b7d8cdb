"""The activation queue: tabs, row order, the one-day promise, pagination, and who may see it."""

import functools
import re
from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.security import generate_password_hash

from portal.activation.decisions import approve, reject
from portal.activation.queue import Promise, PromiseState, promise, waiting_count
from portal.extensions import db
from portal.models import Role, SmsStatus
from portal.models.base import utcnow
from tests.conftest import csrf_token
from tests.factories import Factory
from tests.test_activation_decisions import login, new_operator, place

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def signed_in(auth, make):
    operator = new_operator(make)
    login(auth, operator)
    return operator


@pytest.mark.parametrize(
    ("left", "label", "state"),
    [
        (timedelta(hours=18, minutes=59), "18 h kvar", PromiseState.ON_TIME),
        (timedelta(hours=4, minutes=1), "4 h kvar", PromiseState.ON_TIME),
        (timedelta(hours=3, minutes=59), "3 h kvar", PromiseState.AT_RISK),
        (timedelta(minutes=45, seconds=30), "45 min kvar", PromiseState.AT_RISK),
        (timedelta(seconds=20), "1 min kvar", PromiseState.AT_RISK),
        (timedelta(0), "Försenad 1 min", PromiseState.OVERDUE),
        (-timedelta(minutes=20), "Försenad 20 min", PromiseState.OVERDUE),
        (-timedelta(hours=3, minutes=10), "Försenad 3 h", PromiseState.OVERDUE),
    ],
)
def test_the_promise_in_words(app, left, label, state):
    with app.test_request_context():
        result = Promise(deadline=NOW + left, left=left)
        assert (result.label, result.state) == (label, state)


def test_the_promise_is_24_hours_from_the_order(app):
    order = place(age=timedelta(hours=6))
    result = promise(order, order.created_at + timedelta(hours=6))
    assert result.deadline == order.created_at + timedelta(hours=24)
    assert result.left == timedelta(hours=18)


def test_waiting_orders_oldest_first_with_time_left(client, signed_in):
    fresh_order = place(age=timedelta(hours=2), org_name="Nya skolan AB")
    late = place(age=timedelta(hours=27), org_name="Sena skolan AB")
    page = client.get("/admin/orders").get_data(as_text=True)
    assert page.index(late.number) < page.index(fresh_order.number)
    assert "Försenad 3 h" in page and 'class="promise promise-overdue"' in page
    assert re.search(r'class="promise promise-on-time">(21|22) h kvar', page)
    assert "Fristående skola" in page
    assert fresh_order.org_number in page
    assert "2 beställningar väntar på beslut." in page
    assert '<a href="/admin/orders"' in page and 'aria-current="page">Väntande</a>' in page


def test_the_queue_says_whether_the_organisation_exists(client, signed_in, make):
    existing = make.org(name="Befintliga AB", sms=SmsStatus.DEACTIVATED)
    place(org_number=existing.org_number)
    place(org_name="Helt ny AB")
    page = client.get("/admin/orders").get_data(as_text=True)
    assert f'href="/admin/organisations/{existing.id}"' in page
    assert "SMS: Avslutat" in page
    assert "Nej, ny" in page


def test_tabs_show_decided_orders_newest_first(client, signed_in):
    waiting = place()
    older = place(age=timedelta(hours=5))
    newer = place(age=timedelta(hours=3))
    rejected = place(age=timedelta(hours=4))
    approve(older.id, signed_in)
    approve(newer.id, signed_in)
    reject(rejected.id, signed_in, "Fel")
    approved_tab = client.get("/admin/orders?status=approved").get_data(as_text=True)
    assert approved_tab.index(newer.number) < approved_tab.index(older.number)
    assert waiting.number not in approved_tab and rejected.number not in approved_tab
    assert 'aria-current="page">Godkända</a>' in approved_tab
    assert "Aktiverad" in approved_tab
    rejected_tab = client.get("/admin/orders?status=rejected").get_data(as_text=True)
    assert rejected.number in rejected_tab and older.number not in rejected_tab
    all_tab = client.get("/admin/orders?status=all").get_data(as_text=True)
    assert all(o.number in all_tab for o in (waiting, older, newer, rejected))
    waiting_tab = client.get("/admin/orders?status=nonsense").get_data(as_text=True)
    assert waiting.number in waiting_tab and older.number not in waiting_tab
    assert waiting_count() == 1


def test_the_queue_is_paginated_by_25(client, signed_in):
    orders = [place(age=timedelta(hours=30 - i)) for i in range(27)]
    first = client.get("/admin/orders").get_data(as_text=True)
    assert orders[0].number in first and orders[24].number in first
    assert orders[25].number not in first
    assert "Sida 1 av 2" in first and ">Nästa</a>" in first and "Föregående" not in first
    second = client.get("/admin/orders?page=2").get_data(as_text=True)
    assert orders[26].number in second and ">Föregående</a>" in second
    assert client.get("/admin/orders?page=abc").status_code == 200
    assert client.get("/admin/orders?page=99").status_code == 200


def test_an_empty_queue_says_so(client, signed_in):
    page = client.get("/admin/orders").get_data(as_text=True)
    assert "Inga beställningar väntar på beslut." in page


# Access: every route of the queue and the organisations × every role


ROUTES = [
    ("GET", "/admin/orders"),
    ("GET", "/admin/orders/{order}"),
    ("GET", "/admin/orders/{order}/approve"),
    ("POST", "/admin/orders/{order}/approve"),
    ("GET", "/admin/orders/{order}/reject"),
    ("POST", "/admin/orders/{order}/reject"),
    ("GET", "/admin/organisations"),
    ("GET", "/admin/organisations/{organisation}"),
    ("GET", "/admin/organisations/{organisation}/deactivate"),
    ("POST", "/admin/organisations/{organisation}/deactivate"),
    ("GET", "/admin/organisations/{organisation}/activate"),
    ("POST", "/admin/organisations/{organisation}/activate"),
]
OTHER_ROLES = [Role.ADMIN, Role.PRINCIPAL, Role.STAFF, Role.STUDENT, Role.GUARDIAN]


def test_every_route_is_in_the_matrix(app):
    rules = {
        rule.rule.replace("<int:order_id>", "{order}").replace(
            "<int:organisation_id>", "{organisation}"
        )
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("activation.")
    }
    assert rules == {path for _method, path in ROUTES}


@functools.cache
def _password_hash():
    """The factories' password, hashed once: hashing is the slow part of each case."""
    return generate_password_hash(Factory.PASSWORD)


def _request(client, method, path, make):
    organisation = make.org(sms=SmsStatus.ACTIVE)
    order = place()
    url = path.format(order=order.id, organisation=organisation.id)
    token = csrf_token(client.get("/order").get_data(as_text=True))
    if method == "GET":
        return client.get(url), order, organisation
    return client.post(url, data={"csrf_token": token, "reason": "x"}), order, organisation


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("role", OTHER_ROLES)
def test_other_roles_are_refused(client, auth, make, role, method, path):
    person = make.person(
        role, password=None, password_hash=_password_hash(), terms_accepted_at=utcnow()
    )
    login(auth, person)
    response, order, organisation = _request(client, method, path, make)
    assert response.status_code in (403, 404)
    db.session.rollback()
    assert db.session.get(type(order), order.id).status == "received"
    assert db.session.get(type(organisation), organisation.id).sms_status == SmsStatus.ACTIVE


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_anonymous_visitors_are_sent_to_login(client, make, method, path):
    response, order, _organisation = _request(client, method, path, make)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    db.session.rollback()
    assert db.session.get(type(order), order.id).status == "received"


@pytest.mark.parametrize(("method", "path"), [r for r in ROUTES if r[0] == "GET"])
def test_operators_reach_every_page(client, signed_in, make, method, path):
    response, _order, _organisation = _request(client, method, path, make)
    assert response.status_code == 200
