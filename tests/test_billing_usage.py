"""Exact package billing: drawing units, rollover exactly once, the usage ledger and the
usage per month (issue #7, points 5 and 7)."""

import multiprocessing
import random
from datetime import UTC, date, datetime

import pytest

from portal import create_app
from portal.audit.labels import details
from portal.billing.packages import deactivate_sms, open_package
from portal.billing.prices import set_price
from portal.billing.usage import (
    charge,
    ledger_total,
    monthly_usage,
    package_ledger,
    packages_to_open,
)
from portal.database import write_transaction
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Invoice,
    Message,
    MessageStatus,
    Organisation,
    Role,
    SmsPackage,
    SmsStatus,
    UsageEntry,
)
from tests.test_billing_packages import _packages as packages

SIZE = 5


@pytest.fixture
def small(make_app, app):
    """An app whose packages hold SIZE units, its context pushed for the test."""
    small = make_app(SMS_PACKAGE_SIZE=SIZE)
    with small.app_context():
        yield small
        db.session.remove()


@pytest.fixture
def operator(small, make):
    operator = make.person(Role.OPERATOR)
    with write_transaction():
        set_price(450_000, operator)
    return operator


@pytest.fixture
def org(make, operator):
    """An active organisation with package #1 open and unused."""
    organisation = make.org(sms=SmsStatus.ACTIVE)
    with write_transaction():
        open_package(db.session.merge(organisation))
    return organisation


def new_message(make, organisation, subject="Utflykt på fredag", units=0):
    """A message of the organisation (by a new admin), with `units` SMS parts charged."""
    author = make.person(Role.ADMIN, organisation)
    message = Message(
        organisation_id=organisation.id,
        author_id=author.id,
        subject=subject,
        send_sms=True,
        status=MessageStatus.SENDING,
    )
    db.session.add(message)
    db.session.commit()
    if units:
        with write_transaction():
            charge(organisation.id, message.id, units)
    return message


@pytest.fixture
def message(make, org):
    return new_message(make, org)


def bill(organisation, message, units):
    """Charge in a write transaction of its own, as the sending pipeline does; returns
    the message's ledger entries it drew into as (package sequence, units so far)."""
    with write_transaction():
        entries = charge(organisation.id, message.id, units)
        return [
            (db.session.get(SmsPackage, entry.package_id).sequence, entry.units)
            for entry in entries
        ]


def used(organisation):
    return [
        (package.sequence, package.used, package.closed_at is None)
        for package in packages(organisation)
    ]


def ledger(organisation):
    """{(message id, package sequence): units}"""
    rows = db.session.execute(
        db.select(UsageEntry.message_id, SmsPackage.sequence, UsageEntry.units)
        .join(SmsPackage, SmsPackage.id == UsageEntry.package_id)
        .where(UsageEntry.organisation_id == organisation.id)
    ).all()
    return {(message_id, sequence): units for message_id, sequence, units in rows}


def assert_books_balance(organisation_id, charged):
    """Ledger = packages' used = what was charged; one invoice per package; sequences
    1..n; one open package, and it has units left; closed packages are full."""
    db.session.rollback()
    rows = db.session.scalars(
        db.select(SmsPackage)
        .where(SmsPackage.organisation_id == organisation_id)
        .order_by(SmsPackage.sequence)
    ).all()
    ledger_sum = db.session.scalar(
        db.select(db.func.coalesce(db.func.sum(UsageEntry.units), 0)).where(
            UsageEntry.organisation_id == organisation_id
        )
    )
    assert sum(package.used for package in rows) == ledger_sum == charged
    assert [package.sequence for package in rows] == list(range(1, len(rows) + 1))
    invoices = db.session.scalars(
        db.select(Invoice).where(Invoice.organisation_id == organisation_id)
    ).all()
    assert sorted(invoice.package_id for invoice in invoices) == sorted(p.id for p in rows)
    assert all(package.used == package.size for package in rows[:-1])
    assert all(package.closed_at is not None for package in rows[:-1])
    assert rows[-1].closed_at is None and rows[-1].remaining > 0
    for package in rows:
        assert ledger_total(package.id) == package.used
    return rows


def test_units_are_drawn_exactly(org, message):
    assert bill(org, message, 3) == [(1, 3)]
    assert used(org) == [(1, 3, True)]
    assert_books_balance(org.id, 3)


def test_a_charge_crossing_the_boundary_is_split_and_the_next_package_invoiced(org, message):
    bill(org, message, 3)
    assert bill(org, message, 4) == [(1, 5), (2, 2)]  # the message's ledger rows, added to
    assert used(org) == [(1, 5, False), (2, 2, True)]
    _first, second = assert_books_balance(org.id, 7)
    assert second.invoice.amount_ore == 450_000
    opened = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "package.opened")
    ).all()
    assert [event.details["sequence"] for event in opened] == [1, 2]


def test_a_package_used_up_exactly_is_followed_by_the_next_at_once(org, message):
    assert bill(org, message, SIZE) == [(1, SIZE)]
    assert used(org) == [(1, SIZE, False), (2, 0, True)]
    assert_books_balance(org.id, SIZE)


def test_one_charge_larger_than_a_package_rolls_over_several_times(org, message):
    assert bill(org, message, 17) == [(1, 5), (2, 5), (3, 5), (4, 2)]
    assert used(org) == [(1, 5, False), (2, 5, False), (3, 5, False), (4, 2, True)]
    assert_books_balance(org.id, 17)


def test_the_new_package_is_invoiced_at_the_price_of_the_day(org, message, operator):
    with write_transaction():
        set_price(500_000, operator)
    bill(org, message, 6)
    first, second = assert_books_balance(org.id, 6)
    assert (first.invoice.amount_ore, second.invoice.amount_ore) == (450_000, 500_000)
    assert second.price_ore == 500_000


def test_without_any_package_the_first_is_opened(make, operator):
    organisation = make.org(sms=SmsStatus.ACTIVE)
    message = new_message(make, organisation)
    assert bill(organisation, message, 3) == [(1, 3)]
    assert used(organisation) == [(1, 3, True)]
    assert_books_balance(organisation.id, 3)


def test_a_message_has_one_ledger_row_per_package_that_charges_add_to(make, org, message):
    other = new_message(make, org, subject="Studiedag")
    bill(org, message, 1)
    bill(org, message, 2)
    bill(org, other, 1)
    bill(org, message, 3)  # 1 left in package 1, 2 into package 2
    assert ledger(org) == {(message.id, 1): 4, (other.id, 1): 1, (message.id, 2): 2}
    assert db.session.scalar(db.select(db.func.count(UsageEntry.id))) == 3
    assert_books_balance(org.id, 7)


@pytest.mark.parametrize(
    ("remaining", "units"),
    [(5, 1), (5, 4), (5, 5), (5, 6), (3, 13), (3, 12), (1, 1), (2, 17)],
)
def test_packages_to_open_predicts_what_charge_opens(org, message, remaining, units):
    if remaining < SIZE:
        bill(org, message, SIZE - remaining)
    before = len(packages(org))
    bill(org, message, units)
    assert len(packages(org)) - before == packages_to_open(remaining, units, SIZE)


def test_packages_to_open_without_a_package():
    assert packages_to_open(0, 3, SIZE) == 1
    assert packages_to_open(0, SIZE, SIZE) == 2
    assert packages_to_open(0, 0, SIZE) == 0


def test_zero_units_charge_nothing(org, message):
    assert bill(org, message, 0) == []
    assert ledger(org) == {}
    assert_books_balance(org.id, 0)


@pytest.mark.parametrize(
    ("organisation_id", "units", "error"),
    [(None, -1, ValueError), (0, 1, LookupError)],
)
def test_bad_charges_change_nothing(org, message, organisation_id, units, error):
    with pytest.raises(error), write_transaction():
        charge(org.id if organisation_id is None else organisation_id, message.id, units)
    assert used(org) == [(1, 0, True)]
    assert ledger(org) == {}


def test_a_message_of_another_organisation_is_refused(make, operator, org):
    stranger = new_message(make, make.org(sms=SmsStatus.ACTIVE))
    with pytest.raises(LookupError), write_transaction():
        charge(org.id, stranger.id, 1)
    assert used(org) == [(1, 0, True)]
    assert ledger(org) == {}


def test_parts_accepted_after_deactivation_are_billed_and_the_audit_says_so(org, message, operator):
    bill(org, message, 4)
    with write_transaction():
        deactivate_sms(db.session.merge(org), by=operator)
    assert bill(org, message, 3) == [(1, 5), (2, 2)]
    assert_books_balance(org.id, 7)
    event = db.session.scalars(
        db.select(AuditEvent)
        .where(AuditEvent.action == "package.opened")
        .order_by(AuditEvent.id.desc())
    ).first()
    assert event.details["sequence"] == 2
    assert event.details["sms_status"] == "deactivated"
    assert event.details["message"] == message.id
    assert "För SMS som redan var på väg när SMS-tjänsten avslutades" in details(event)


def test_a_deactivated_organisation_gets_no_new_package_for_a_used_up_one(org, message, operator):
    bill(org, message, 2)
    with write_transaction():
        deactivate_sms(db.session.merge(org), by=operator)
    bill(org, message, 3)
    assert used(org) == [(1, 5, True)]
    assert db.session.scalar(db.select(db.func.count(Invoice.id))) == 1


def test_the_ledger_of_a_package_lists_its_messages_and_sums_to_used(make, org, message):
    other = new_message(make, org, subject="Studiedag")
    bill(org, message, 2)
    bill(org, other, 2)
    bill(org, message, 3)  # 1 into package 1, 2 into package 2
    first, second = packages(org)
    rows = db.session.scalars(package_ledger(first.id)).all()
    assert [(row.message.subject, row.units) for row in rows] == [
        ("Utflykt på fredag", 3),
        ("Studiedag", 2),
    ]
    assert ledger_total(first.id) == first.used == 5
    assert [row.units for row in db.session.scalars(package_ledger(second.id))] == [2]


def at(*parts):
    return datetime(*parts, tzinfo=UTC)


def test_usage_per_month_follows_stockholm_months(make, org, message):
    other = new_message(make, org, subject="Studiedag")
    draws = [
        (message, 1, at(2026, 3, 31, 21, 30)),  # 23:30 CEST, 31 March
        (message, 2, at(2026, 3, 31, 22, 30)),  # 00:30 CEST, 1 April
        (other, 1, at(2026, 4, 15, 12, 0)),
        (other, 1, at(2026, 10, 31, 23, 30)),  # 00:30 CET, 1 November
        (message, 4, at(2025, 11, 30, 22, 59)),  # 23:59 CET, 30 November 2025: 12+ months ago
    ]
    for index, (item, units, moment) in enumerate(draws):
        package = SmsPackage(
            organisation_id=org.id,
            sequence=10 + index,
            size=10,
            used=units,
            price_ore=0,
            closed_at=moment,
        )
        db.session.add(package)
        db.session.flush()
        db.session.add(
            UsageEntry(
                organisation_id=org.id,
                package_id=package.id,
                message_id=item.id,
                units=units,
                created_at=moment,
            )
        )
    db.session.commit()

    months = monthly_usage(org.id, now=at(2026, 11, 15, 9, 0))
    assert [month.month for month in months] == [date(2025, 12, 1)] + [
        date(2026, n, 1) for n in range(1, 12)
    ]
    found = {m.month: (m.units, m.messages) for m in months if m.units}
    assert found == {
        date(2026, 3, 1): (1, 1),
        date(2026, 4, 1): (3, 2),
        date(2026, 11, 1): (1, 1),
    }
    assert monthly_usage(org.id, months=1, now=at(2026, 10, 31, 22, 59)) == [
        type(months[0])(date(2026, 10, 1), 0, 0)
    ]


def test_usage_of_another_organisation_is_not_counted(make, operator, org, message):
    stranger = make.org(sms=SmsStatus.ACTIVE)
    bill(stranger, new_message(make, stranger), 4)
    bill(org, message, 2)
    (this_month,) = monthly_usage(org.id, months=1)
    assert (this_month.units, this_month.messages) == (2, 1)


def _charge_many(settings, organisation_id, message_ids, amounts, barrier):
    """One worker process: its own app and connections, charging as fast as it can."""
    app = create_app({**settings, "SMS_PACKAGE_SIZE": SIZE})
    with app.app_context():
        barrier.wait(timeout=120)
        for index, units in enumerate(amounts):
            with write_transaction():
                charge(organisation_id, message_ids[index % len(message_ids)], units)
        db.session.remove()
        db.engine.dispose()


def test_four_processes_charging_at_once_roll_over_exactly_once(settings, make, org):
    """The real row-lock test on PostgreSQL (BEGIN IMMEDIATE serialises on SQLite)."""
    messages = [new_message(make, org, subject=f"Meddelande {n}") for n in range(3)]
    message_ids = [item.id for item in messages]
    organisation_id = org.id
    db.session.commit()
    rng = random.Random(7)
    workers = 4
    plans = [[rng.randint(1, 4) for _ in range(30)] for _ in range(workers)]
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers)
    processes = [
        context.Process(
            target=_charge_many, args=(settings, organisation_id, message_ids, plan, barrier)
        )
        for plan in plans
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=300)
    assert [process.exitcode for process in processes] == [0] * workers

    charged = sum(map(sum, plans))
    rows = assert_books_balance(organisation_id, charged)
    assert len(rows) == charged // SIZE + 1
    assert db.session.get(Organisation, organisation_id).sms_status == SmsStatus.ACTIVE
    per_message = db.session.execute(
        db.select(UsageEntry.message_id, db.func.sum(UsageEntry.units)).group_by(
            UsageEntry.message_id
        )
    ).all()
    expected = dict.fromkeys(message_ids, 0)
    for plan in plans:
        for index, units in enumerate(plan):
            expected[message_ids[index % len(message_ids)]] += units
    assert dict(per_message) == expected
    opened = db.session.scalar(
        db.select(db.func.count(AuditEvent.id)).where(AuditEvent.action == "package.opened")
    )
    assert opened == len(rows)
