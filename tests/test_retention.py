"""Retention: finished messages lose their texts, addresses and images after
RETENTION_DAYS; counts, statuses, parts and the billing ledger stay."""

from datetime import timedelta

import pytest
from rq.cron import CronScheduler

from jobs.retention import erase_finished_messages
from portal.billing.packages import open_package
from portal.billing.prices import set_price
from portal.database import write_transaction
from portal.extensions import db
from portal.models import (
    Attachment,
    Channel,
    Message,
    MessageStatus,
    Recipient,
    RecipientStatus,
    Role,
    UsageEntry,
)
from portal.models.base import utcnow
from portal.queue import enqueue, redis_connection
from tests.tenants import make_message

DAY = timedelta(days=1)


@pytest.fixture
def people(make):
    org = make.org()
    staff = make.person(Role.STAFF, org)
    guardian = make.person(Role.GUARDIAN, org, mobile="+46701740605")
    student = make.person(Role.STUDENT, org, email="elev@example.se")
    return staff, guardian, student


def finished(people, *, days_ago, status=MessageStatus.DONE, activity_days_ago=None):
    """A finished message with an SMS and an e-mail recipient and an image."""
    staff, guardian, student = people
    when = utcnow() - days_ago * DAY
    stamps = {"cancelled_at": when} if status == MessageStatus.CANCELLED else {"sent_at": when}
    message = make_message(
        staff,
        status=status,
        subject="Utvecklingssamtal för Kalle",
        body="Ring 070-174 06 05",
        created_at=when,
        recipients=[
            (guardian, Channel.SMS, RecipientStatus.DELIVERED, guardian.mobile),
            (student, Channel.EMAIL, RecipientStatus.FAILED, student.email),
        ],
        **stamps,
    )
    db.session.execute(
        db.update(Recipient)
        .where(Recipient.message_id == message.id)
        .values(
            updated_at=utcnow() - (activity_days_ago or days_ago) * DAY,
            error="mailbox full: elev@example.se",
        )
    )
    db.session.add(
        Attachment(
            organisation_id=staff.organisation_id,
            uploaded_by_id=staff.id,
            message_id=message.id,
            token=f"t{message.id}",
            filename="kalle-klassfoto.jpg",
            content_type="image/jpeg",
            size=3,
            data=b"jpg",
        )
    )
    db.session.commit()
    return message.id


def message_row(message_id):
    db.session.rollback()
    return db.session.get(Message, message_id)


def recipient_rows(message_id):
    return db.session.scalars(
        db.select(Recipient).where(Recipient.message_id == message_id).order_by(Recipient.id)
    ).all()


def attachment_of(message_id):
    return db.session.scalars(
        db.select(Attachment).where(Attachment.message_id == message_id)
    ).one()


def assert_erased(message_id):
    message = message_row(message_id)
    assert (message.subject, message.body) == ("", "")
    assert message.erased_at is not None
    sms, mail = recipient_rows(message_id)
    assert (sms.address, sms.provider_id, sms.error) == ("", None, None)
    assert (mail.address, mail.error) == ("", None)
    # What statistics and billing need stays.
    assert (sms.status, sms.parts, sms.channel) == (RecipientStatus.DELIVERED, 1, Channel.SMS)
    assert (mail.status, mail.channel) == (RecipientStatus.FAILED, Channel.EMAIL)
    assert message.status in (MessageStatus.DONE, MessageStatus.CANCELLED)
    attachment = attachment_of(message_id)
    assert (attachment.filename, attachment.data, attachment.size) == ("", b"", 3)


def assert_kept(message_id):
    message = message_row(message_id)
    assert message.subject == "Utvecklingssamtal för Kalle" and message.erased_at is None
    sms, mail = recipient_rows(message_id)
    assert sms.address == "+46701740605" and sms.provider_id is not None
    assert mail.address == "elev@example.se"
    assert attachment_of(message_id).data == b"jpg"


def test_old_finished_messages_are_erased_and_recent_ones_kept(app, people):
    old_done = finished(people, days_ago=400)
    old_cancelled = finished(people, days_ago=366, status=MessageStatus.CANCELLED)
    recent = finished(people, days_ago=364)
    still_sending = finished(people, days_ago=400, status=MessageStatus.SENDING)
    late_report = finished(people, days_ago=400, activity_days_ago=10)

    assert erase_finished_messages() == 2

    assert_erased(old_done)
    assert_erased(old_cancelled)
    for kept in (recent, still_sending, late_report):
        assert_kept(kept)


def test_the_billing_ledger_is_untouched(app, make, people):
    old = finished(people, days_ago=400)
    staff = people[0]
    set_price(450_000, make.person(Role.OPERATOR))
    with write_transaction():
        package = open_package(staff.organisation)
        db.session.add(
            UsageEntry(
                organisation_id=staff.organisation_id,
                package_id=package.id,
                message_id=old,
                units=7,
            )
        )
    erase_finished_messages()
    db.session.rollback()
    (entry,) = db.session.scalars(db.select(UsageEntry)).all()
    assert (entry.message_id, entry.units, entry.package_id) == (old, 7, package.id)


def test_running_again_changes_nothing(app, people):
    old = finished(people, days_ago=400)
    assert erase_finished_messages() == 1
    first = message_row(old).erased_at
    assert erase_finished_messages() == 0
    assert message_row(old).erased_at == first


def test_retention_days_come_from_the_configuration(app, people):
    month_old = finished(people, days_ago=31)
    assert erase_finished_messages() == 0
    app.config["RETENTION_DAYS"] = 30
    assert erase_finished_messages() == 1
    assert_erased(month_old)


def test_many_messages_are_erased_in_bounded_transactions(app, people, monkeypatch):
    monkeypatch.setattr("jobs.retention.MESSAGES_PER_TRANSACTION", 2)
    ids = [finished(people, days_ago=400) for _ in range(5)]
    assert erase_finished_messages() == 5
    for message_id in ids:
        assert_erased(message_id)


def test_it_runs_as_a_job_in_the_worker(app, people, run_jobs):
    old = finished(people, days_ago=400)
    job = enqueue(erase_finished_messages, job_id="retention-test")
    run_jobs()
    assert job.get_status(refresh=True) == "finished"
    assert_erased(old)


def test_it_is_registered_to_run_daily(app):
    scheduler = CronScheduler(connection=redis_connection())
    scheduler.load_config_from_file("jobs.cron")
    (job,) = (job for job in scheduler.get_jobs() if job.func is erase_finished_messages)
    assert job.cron == "30 2 * * *"
    assert job.queue_name == "default"


def test_the_message_page_says_the_text_was_erased(app, people, client, auth):
    staff = people[0]
    message_id = finished(people, days_ago=400)
    erase_finished_messages()
    auth.login(staff.email)

    page = client.get(f"/messages/{message_id}").get_data(as_text=True)
    assert "Raderat meddelande" in page
    assert "raderades" in page
    assert "Kalle" not in page
    assert "Raderat meddelande" in client.get("/messages").get_data(as_text=True)
