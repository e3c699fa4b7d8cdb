"""Orders about to break the one-day promise: the 15-minute job and `flask orders overdue`
(issue #4, point 8)."""

import secrets
from datetime import timedelta

import pytest

from jobs.maintenance import report_overdue_orders
from portal.extensions import db
from portal.models import OrderStatus, OrgKind, Role, SmsOrder
from portal.models.base import utcnow
from portal.orders.commands import orders as orders_cli
from portal.orders.overdue import late_orders
from portal.queue import get_queue
from tests.conftest import fresh

_numbers = iter(range(1, 10_000))


def waiting_order(hours, name, status=OrderStatus.RECEIVED, **fields):
    """An order that came in `hours` ago."""
    n = next(_numbers)
    created = utcnow() - timedelta(hours=hours)
    order = SmsOrder(
        number=f"SMS-2026-{n:06d}",
        token=secrets.token_urlsafe(32),
        status=status,
        org_kind=OrgKind.KOMMUN,
        org_name=name,
        org_number=f"212000-{n:04d}",
        contact_name="Åsa Öberg",
        contact_email="asa@example.se",
        contact_phone="+46701740605",
        invoice_address="Box 1",
        invoice_reference="Ref",
        terms_accepted_at=created,
        created_at=created,
        **fields,
    )
    db.session.add(order)
    db.session.commit()
    return order


@pytest.fixture
def mailbox(app, smtp_server):
    app.config.update(MAIL_URL=smtp_server.url, PUBLIC_BASE_URL="https://sms.example.se")
    return smtp_server


@pytest.fixture
def operators(make):
    return [make.person(Role.OPERATOR), make.person(Role.OPERATOR)]


@pytest.fixture
def queue_of_orders(app):
    return {
        "overdue": waiting_order(27.5, "Sjöviks kommun"),
        "nearly": waiting_order(21, "Friskolan Solgläntan AB"),
        "fresh": waiting_order(2, "Nya kommun"),
        "decided": waiting_order(
            40, "Beslutade kommun", status=OrderStatus.ACTIVATED, decided_at=utcnow()
        ),
    }


def test_late_orders_are_the_waiting_ones_past_20_hours(queue_of_orders):
    late = late_orders()
    assert [item.order.org_name for item in late] == ["Sjöviks kommun", "Friskolan Solgläntan AB"]
    overdue, nearly = late
    assert (overdue.overdue, overdue.age_hours, overdue.hours_late) == (True, 27, 3)
    assert (nearly.overdue, nearly.age_hours, nearly.hours_left) == (False, 21, 2)


def test_the_job_mails_operators_once_and_marks_the_orders(
    mailbox, operators, queue_of_orders, run_jobs
):
    get_queue().enqueue(report_overdue_orders)
    run_jobs()

    (mail,) = mailbox.messages
    assert sorted(a.addr_spec for a in mail["To"].addresses) == sorted(
        person.email for person in operators
    )
    assert "1 över ett dygn" in mail["Subject"]
    body = mail.get_content()
    assert queue_of_orders["overdue"].number in body and "FÖRSENAD 3 h" in body
    assert queue_of_orders["nearly"].number in body and "(2 h kvar)" in body
    assert queue_of_orders["fresh"].number not in body
    assert queue_of_orders["decided"].number not in body
    assert "https://sms.example.se/admin/orders" in body

    assert fresh(queue_of_orders["overdue"]).overdue_reported_at is not None
    assert fresh(queue_of_orders["nearly"]).overdue_reported_at is not None
    assert fresh(queue_of_orders["fresh"]).overdue_reported_at is None
    assert fresh(queue_of_orders["decided"]).overdue_reported_at is None


def test_a_second_run_sends_nothing_new(mailbox, operators, queue_of_orders):
    assert report_overdue_orders() == 2
    assert report_overdue_orders() == 0
    assert len(mailbox.messages) == 1

    later = waiting_order(20.5, "Senare kommun")
    assert report_overdue_orders() == 1
    second = mailbox.messages[-1]
    assert later.number in second.get_content()
    assert queue_of_orders["overdue"].number not in second.get_content()
    assert "närmar sig" in second["Subject"]


def test_a_failed_mail_marks_nothing(app, dead_smtp_url, operators, queue_of_orders):
    app.config["MAIL_URL"] = dead_smtp_url
    with pytest.raises(OSError):
        report_overdue_orders()
    assert fresh(queue_of_orders["overdue"]).overdue_reported_at is None


def test_without_operators_nothing_is_marked(mailbox, queue_of_orders, caplog):
    assert report_overdue_orders() == 0
    assert mailbox.messages == []
    assert "no active operator" in caplog.text
    assert fresh(queue_of_orders["overdue"]).overdue_reported_at is None


def test_the_command_exits_1_when_an_order_is_overdue(app, runner, queue_of_orders):
    app.cli.add_command(orders_cli)
    result = runner.invoke(args=["orders", "overdue"])
    assert result.exit_code == 1
    overdue, nearly = result.output.splitlines()[:2]
    assert queue_of_orders["overdue"].number in overdue and "FÖRSENAD 3 h" in overdue
    assert "väntat 27 h" in overdue
    assert queue_of_orders["nearly"].number in nearly and "snart försenad, 2 h kvar" in nearly
    assert queue_of_orders["fresh"].number not in result.output


def test_the_command_exits_0_when_orders_are_only_nearly_overdue(app, runner):
    app.cli.add_command(orders_cli)
    nearly = waiting_order(23.9, "Nästan kommun")
    result = runner.invoke(args=["orders", "overdue"])
    assert result.exit_code == 0
    assert nearly.number in result.output
    assert "Försenade (över 24 h): 0" in result.output


def test_the_command_exits_0_when_nothing_waits_long(app, runner):
    app.cli.add_command(orders_cli)
    waiting_order(1, "Ny kommun")
    result = runner.invoke(args=["orders", "overdue"])
    assert result.exit_code == 0
    assert "Inga beställningar har väntat längre än 20 timmar." in result.output


def test_reported_orders_are_still_listed_by_the_command(app, runner, mailbox, queue_of_orders):
    app.cli.add_command(orders_cli)
    report_overdue_orders()
    result = runner.invoke(args=["orders", "overdue"])
    assert result.exit_code == 1
    assert queue_of_orders["overdue"].number in result.output
