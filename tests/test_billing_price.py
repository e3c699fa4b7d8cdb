"""Operators set the package price in kronor the Swedish way (issue #4, point 6)."""

import pytest

from portal.billing.money import InvalidAmount, parse_kronor
from portal.billing.prices import current_price, set_price
from portal.database import write_transaction
from portal.extensions import db
from portal.models import AuditEvent, PackagePrice, Role
from tests.conftest import csrf_token


@pytest.fixture
def operator(make, auth):
    person = make.person(Role.OPERATOR, given_name="Sofia", family_name="Nordin")
    auth.login(person.email)
    db.session.rollback()  # end the test's read snapshot: the login wrote to the database
    return person


def post_price(client, text):
    page = client.get("/admin/price").get_data(as_text=True)
    return client.post("/admin/price", data={"csrf_token": csrf_token(page), "price": text})


def prices():
    db.session.rollback()
    return db.session.scalars(db.select(PackagePrice).order_by(PackagePrice.id)).all()


@pytest.mark.parametrize(
    ("text", "ore"),
    [
        ("4500", 450_000),
        ("4 500", 450_000),
        ("4 500,00", 450_000),
        ("4 500,5", 450_050),
        ("4\u00a0500,25\u00a0kr", 450_025),
        ("4\u202f500 kr", 450_000),
        ("4500.75", 450_075),
        (" 12 345 678,90 SEK ", 1_234_567_890),
        ("0,01", 1),
        ("4,500.00", 450_000),  # as the English pages show it
        ("12,345,678.9 kr", 1_234_567_890),
    ],
)
def test_swedish_amounts_are_read_as_ore(text, ore):
    assert parse_kronor(text) == ore


@pytest.mark.parametrize(
    "text", ["", "kr", "abc", "-100", "4,50,0", "4 50", "45 00", "1.234,5", "4500,123", "4e3"]
)
def test_other_text_is_not_an_amount(text):
    with pytest.raises(InvalidAmount):
        parse_kronor(text)


@pytest.mark.parametrize(
    ("text", "ore"), [("4 500", 450_000), ("4 500,00", 450_000), ("5\u00a0250,50\u00a0kr", 525_050)]
)
def test_the_operator_sets_the_price(client, operator, text, ore):
    response = post_price(client, text)
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/price"
    assert [price.amount_ore for price in prices()] == [ore]
    event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "price.set")).one()
    assert (event.action, event.actor_id, event.details["amount_ore"]) == (
        "price.set",
        operator.id,
        ore,
    )
    html = client.get("/admin/price").get_data(as_text=True)
    assert "Paketpriset är nu" in html
    assert "Sofia Nordin" in html  # the history says who


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Ange priset per paket."),
        ("fyratusen", "Ange priset i kronor"),
        ("-4500", "Ange priset i kronor"),
        ("4.500,00", "Ange priset i kronor"),
        ("=1+1", "Ange priset i kronor"),
        ("0", "större än 0 kr"),
        ("0,00", "större än 0 kr"),
        ("1 000 000,01", "högst 1\u00a0000\u00a0000 kr"),
        ("9" * 40, "Högst 30 tecken"),
    ],
)
def test_bad_input_is_422_and_the_price_is_unchanged(client, operator, text, message):
    with write_transaction():
        set_price(450_000, operator)
    response = post_price(client, text)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message.replace("\u00a0", " ") in html.replace("\u00a0", " ")
    assert 'class="error-summary"' in html
    assert current_price().amount_ore == 450_000
    assert len(prices()) == 1


def test_the_page_shows_the_current_price_and_its_history(client, operator, make):
    other = make.person(Role.OPERATOR, given_name="Olle", family_name="Strand")
    with write_transaction():
        set_price(400_000, other)
    with write_transaction():
        set_price(450_000, operator)
    html = client.get("/admin/price").get_data(as_text=True)
    current = html.index('id="current-price"')
    assert "4\u00a0500,00\u00a0kr" in html[current : current + 80]
    history = html[html.index("Prishistorik") :]
    assert history.index("4\u00a0500,00\u00a0kr") < history.index("4\u00a0000,00\u00a0kr")
    assert "Olle Strand" in history and "Sofia Nordin" in history


def test_without_a_price_the_page_says_so(client, operator):
    html = client.get("/admin/price").get_data(as_text=True)
    assert "Inget pris satt" in html


def test_setting_the_price_needs_csrf(client, operator):
    response = client.post("/admin/price", data={"price": "4500"})
    assert response.status_code == 400
    assert prices() == []
