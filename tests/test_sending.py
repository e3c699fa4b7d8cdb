"""The sending pipeline against real Redis, a real database and a local server that
speaks the 46elks wire format: jobs run by SimpleWorker bursts in this process."""

import io
import logging
import time
from datetime import timedelta

import pytest
from PIL import Image
from rq.registry import FinishedJobRegistry, ScheduledJobRegistry

import jobs.sending
from jobs.maintenance import reconcile
from jobs.sending import dispatch, send_batch
from jobs.worker import build_worker
from portal.billing.packages import deactivate_sms
from portal.database import write_transaction
from portal.extensions import db
from portal.messaging.batches import MessageFacts, claim, failed, record, sent
from portal.messaging.recorder import settle
from portal.models import (
    Attachment,
    AuditEvent,
    Channel,
    Invoice,
    Message,
    MessageStatus,
    Recipient,
    RecipientStatus,
    SmsPackage,
    UsageEntry,
)
from portal.models.base import utcnow
from portal.operations.metrics import provider_stats
from portal.queue import redis_connection, take_next_job
from portal.sms.text import count

pytestmark = pytest.mark.usefixtures("app")


def run(app):
    return build_worker(app).work(burst=True)


@pytest.fixture
def one_batch_a_job(monkeypatch):
    """Send jobs that stop after their own batch, as when other work is next in the queue."""
    monkeypatch.setattr(jobs.sending, "GO_ON_SECONDS", 0)


def statuses(message):
    db.session.rollback()
    rows = db.session.execute(
        db.select(Recipient.status, db.func.count())
        .where(Recipient.message_id == message.id)
        .group_by(Recipient.status)
    ).all()
    return {RecipientStatus(status): n for status, n in rows}


def facts_of(message):
    """What a send job reads of `message`."""
    return MessageFacts(
        message.id, message.organisation_id, message.subject, "Skolan", message.created_at
    )


def billed(message):
    db.session.rollback()
    return db.session.scalar(
        db.select(db.func.coalesce(db.func.sum(UsageEntry.units), 0)).where(
            UsageEntry.message_id == message.id
        )
    )


def finished_jobs():
    return sorted(FinishedJobRegistry("sending", connection=redis_connection()).get_job_ids())


def assert_sent_once_each_and_done(sending, message, recipients):
    """Every recipient sent one SMS of one part, billed once, and the message done."""
    assert statuses(message) == {RecipientStatus.SENT: recipients}
    assert sorted(sending.server.counts().values()) == [1] * recipients
    assert billed(message) == recipients
    assert db.session.get(Message, message.id).status == MessageStatus.DONE


def test_every_recipient_gets_one_sms_and_each_part_is_billed(sending):
    text = "Föräldramöte på torsdag kl 18. " * 6
    message = sending.message(recipients=25, text=text)
    parts = count(text).segments
    assert parts == 2

    dispatch(message.id)
    run(sending.app)

    assert statuses(message) == {RecipientStatus.SENT: 25}
    assert sending.server.count == 25
    assert set(sending.server.counts().values()) == {1}
    assert {sms.message for sms in sending.server.sent} == {message.subject}
    assert {sms.sender for sms in sending.server.sent} == {"Testkommun"}
    assert all(sms.whendelivered.endswith(f"token={sending.token}") for sms in sending.server.sent)
    assert billed(message) == 25 * parts
    package = db.session.scalars(db.select(SmsPackage)).one()
    assert package.used == 25 * parts
    rows = db.session.scalars(db.select(Recipient).where(Recipient.message_id == message.id))
    assert {(row.parts, row.attempts, row.provider_id is not None) for row in rows} == {
        (parts, 1, True)
    }
    message = db.session.get(Message, message.id)
    assert message.status == MessageStatus.DONE
    assert message.sent_at is not None
    assert (
        db.session.scalar(db.select(db.func.count()).where(AuditEvent.action == "message.sent"))
        == 1
    )


def test_recipients_are_sent_in_batches_with_one_job_each(sending):
    message = sending.message(recipients=25)
    assert dispatch(message.id) == 3
    job_ids = set(redis_connection().lrange("rq:queue:sending", 0, -1))
    assert job_ids == {f"send-{message.id}-sms-{n}".encode() for n in range(3)}
    assert dispatch(message.id) == 3
    assert redis_connection().llen("rq:queue:sending") == 3
    rows = db.session.execute(
        db.select(Recipient.batch_no, db.func.count())
        .where(Recipient.message_id == message.id)
        .group_by(Recipient.batch_no)
    ).all()
    assert sorted(rows) == [(0, 10), (1, 10), (2, 5)]


def test_server_errors_are_retried_until_accepted(sending):
    message = sending.message(recipients=6)
    sending.server.fail_next(3, status=503)

    dispatch(message.id)
    run(sending.app)

    assert statuses(message) == {RecipientStatus.SENT: 6}
    assert sorted(sending.server.counts().values()) == [1] * 6
    assert billed(message) == 6
    attempts = db.session.scalars(
        db.select(Recipient.attempts).where(Recipient.message_id == message.id)
    ).all()
    assert sum(attempts) == 6 + 3


def test_a_timeout_is_retried(sending):
    sending.use_provider(read_timeout=0.3)
    message = sending.message(recipients=3)
    sending.server.delay_next(1.0)

    dispatch(message.id)
    run(sending.app)

    assert statuses(message) == {RecipientStatus.SENT: 3}
    # The late answer was an acceptance the worker could not see: at most that one twice.
    assert 3 <= sending.server.count <= 4
    assert billed(message) == 3


def test_a_refused_number_fails_at_once_and_is_not_billed(sending):
    message = sending.message(recipients=5)
    refused = sending.numbers[2]
    sending.server.reject(refused, 400, "Invalid to number")

    dispatch(message.id)
    run(sending.app)

    assert statuses(message) == {RecipientStatus.SENT: 4, RecipientStatus.FAILED: 1}
    row = db.session.scalars(db.select(Recipient).where(Recipient.address == refused)).one()
    assert (row.attempts, row.parts, row.error) == (1, None, "Ogiltigt mobilnummer")
    assert billed(message) == 4
    assert db.session.get(Message, message.id).status == MessageStatus.DONE


def test_too_many_requests_pauses_sending_for_retry_after(sending):
    message = sending.message(recipients=6)
    sending.server.throttle_next(retry_after="1")

    dispatch(message.id)
    run(sending.app)

    assert statuses(message) == {RecipientStatus.SENT: 6}
    assert sending.server.count == 6
    assert billed(message) == 6


def test_a_chunk_handed_back_on_429_is_sent_when_nothing_waits_for_a_retry(sending):
    # 6 recipients fill one claim short (the batch is empty after it); the throttled SMS
    # fails at once (no retry to come back for), so the rest of its chunk, handed back
    # untried, is claimed again by the same job.
    message = sending.message(recipients=6)
    sending.app.config["SMS_RETRY_MAX_AGE_SECONDS"] = 0
    sending.server.throttle_next(retry_after="1")

    dispatch(message.id)
    run(sending.app)

    assert statuses(message) == {RecipientStatus.SENT: 5, RecipientStatus.FAILED: 1}
    assert sending.server.count == 5
    assert billed(message) == 5
    assert db.session.get(Message, message.id).status == MessageStatus.DONE


def test_the_provider_s_response_time_leaves_out_the_waits_for_the_rate(sending):
    # 8 SMS at 4 a second, a chunk of 4 a slice: the second chunk waits a second or more
    # for its permits, and the provider answers each SMS in 50 ms.
    message = sending.message(recipients=8)
    sending.app.config["SMS_RATE_PER_SECOND"] = 4
    sending.server.delay_next(0.05, n=8)
    started = time.monotonic()

    dispatch(message.id)
    run(sending.app)

    assert time.monotonic() - started >= 1  # the rate held the second chunk back
    stats = provider_stats()
    assert stats.calls == 8
    assert 8 * 0.05 <= stats.seconds < 1


def test_transient_errors_give_up_after_the_maximum_age(sending, make_app):
    message = sending.message(recipients=2)
    sending.app.config["SMS_RETRY_MAX_AGE_SECONDS"] = 1
    sending.server.fail_next(10, status=500)

    dispatch(message.id)
    run(sending.app)

    assert statuses(message) == {RecipientStatus.FAILED: 2}
    errors = db.session.scalars(db.select(Recipient.error)).all()
    assert all(error.startswith("Tekniskt fel") for error in errors)
    assert billed(message) == 0


def test_delivery_reports_after_sending(sending):
    message = sending.message(recipients=3)
    dispatch(message.id)
    run(sending.app)

    client = sending.app.test_client()
    for url, form in sending.server.delivery_reports("delivered"):
        assert client.post(url.removeprefix("http://localhost:5000"), data=form).status_code == 204
    assert statuses(message) == {RecipientStatus.DELIVERED: 3}


def test_a_report_that_arrives_before_the_result_is_recorded_is_applied(sending):
    message = sending.message(recipients=2)
    client = sending.app.test_client()

    def report_at_once(accepted):
        form = {"id": accepted.provider_id, "status": "delivered"}
        assert client.post(sending.hook_path, data=form).status_code == 204

    sending.use_provider(after_send=report_at_once)
    dispatch(message.id)
    run(sending.app)
    assert statuses(message) == {RecipientStatus.DELIVERED: 2}


def test_deactivation_mid_send_cancels_the_rest_unbilled(sending, one_batch_a_job):
    message = sending.message(recipients=25)
    dispatch(message.id)
    send_batch(message.id, "sms", 0)
    settle(sending.app)  # the last chunk the job left recording, as a worker would
    with write_transaction():
        deactivate_sms(sending.organisation, by=None)

    run(sending.app)

    assert statuses(message) == {RecipientStatus.SENT: 10, RecipientStatus.CANCELLED: 15}
    assert sending.server.count == 10
    assert billed(message) == 10
    cancelled = db.session.scalars(
        db.select(Recipient.error).where(Recipient.status == RecipientStatus.CANCELLED)
    ).all()
    assert set(cancelled) == {"Inte skickat: SMS har avaktiverats för organisationen."}
    assert db.session.get(Message, message.id).status == MessageStatus.DONE


def test_a_send_job_goes_on_with_its_message_s_batches_next_in_the_queue(sending):
    message = sending.message(recipients=25)
    other = sending.message(recipients=5)
    dispatch(message.id)
    dispatch(other.id)

    run(sending.app)

    assert statuses(message) == {RecipientStatus.SENT: 25}
    assert statuses(other) == {RecipientStatus.SENT: 5}
    assert sending.server.count == 30
    assert billed(message) == 25
    assert finished_jobs() == sorted([f"send-{message.id}-sms-0", f"send-{other.id}-sms-0"])
    assert redis_connection().keys("rq:job:send-*-sms-[12]") == []
    assert db.session.get(Message, message.id).status == MessageStatus.DONE


def test_a_batch_whose_last_chunk_defers_one_is_finished_before_the_batch_taken_ahead(sending):
    # Batches of 10 in chunks of 4, 4 and 2: while the third is sent, the job takes
    # batch 1 and claims its first chunk; the third chunk's SMS then fails with 503, so
    # the job waits for its retry with batch 1's chunk in hand, then sends both.
    message = sending.message(recipients=25)
    sending.server.delay_next(0, n=8)
    sending.server.fail_next(1, status=503)
    dispatch(message.id)

    run(sending.app)

    assert_sent_once_each_and_done(sending, message, 25)
    assert finished_jobs() == [f"send-{message.id}-sms-0"]


def test_a_batch_waiting_for_a_retry_is_scheduled_and_the_job_goes_on(sending, monkeypatch):
    monkeypatch.setattr(jobs.sending, "SLEEP_THROUGH_SECONDS", 0)
    message = sending.message(recipients=25)
    sending.server.fail_next(1, status=503)
    dispatch(message.id)

    run(sending.app)

    assert statuses(message) == {RecipientStatus.SENT: 24, RecipientStatus.PENDING: 1}
    assert finished_jobs() == [f"send-{message.id}-sms-0"]
    scheduled = ScheduledJobRegistry("sending", connection=redis_connection()).get_job_ids()
    assert [job_id.rsplit("-", 1)[0] for job_id in scheduled] == [f"send-{message.id}-sms-0-at"]
    assert db.session.get(Message, message.id).status == MessageStatus.SENDING

    with write_transaction():
        db.session.execute(db.update(Recipient).values(retry_at=utcnow()))
    send_batch(message.id, "sms", 0)
    settle(sending.app)

    assert_sent_once_each_and_done(sending, message, 25)


def test_a_batch_taken_by_a_job_that_died_is_sent_after_reconcile(sending):
    message = sending.message(recipients=25)
    dispatch(message.id)
    assert take_next_job("sending", f"send-{message.id}-sms-") == 0  # then the worker died

    run(sending.app)
    assert statuses(message) == {RecipientStatus.SENT: 15, RecipientStatus.PENDING: 10}
    assert reconcile() == {"dispatched": 0, "batches": 1, "finished": 0}
    run(sending.app)

    assert statuses(message) == {RecipientStatus.SENT: 25}
    assert sending.server.count == 25
    assert billed(message) == 25


def test_a_batch_claimed_ahead_by_a_job_that_died_is_sent_after_reconcile(sending):
    message = sending.message(recipients=25)
    dispatch(message.id)
    # What a job's recorder does while its batch's last chunk is sent; then the worker died.
    assert take_next_job("sending", f"send-{message.id}-sms-") == 0
    assert len(claim(message.id, Channel.SMS, 0, 4)) == 4

    run(sending.app)
    assert statuses(message) == {
        RecipientStatus.SENT: 15,
        RecipientStatus.PENDING: 6,
        RecipientStatus.CLAIMED: 4,
    }
    assert reconcile() == {"dispatched": 0, "batches": 1, "finished": 0}
    run(sending.app)
    assert statuses(message) == {RecipientStatus.SENT: 21, RecipientStatus.CLAIMED: 4}

    with write_transaction():  # the dead worker's lease runs out
        db.session.execute(
            db.update(Recipient)
            .where(Recipient.status == RecipientStatus.CLAIMED)
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
    assert reconcile() == {"dispatched": 0, "batches": 1, "finished": 0}
    run(sending.app)

    assert_sent_once_each_and_done(sending, message, 25)


def test_email_recipients_get_the_message_too(sending, smtp_server):
    sending.app.config["MAIL_URL"] = smtp_server.url
    message = sending.message(recipients=3, email=True)
    image = Image.new("RGB", (4, 4), "green")
    png = io.BytesIO()
    image.save(png, format="PNG")
    db.session.add(
        Attachment(
            organisation_id=message.organisation_id,
            uploaded_by_id=message.author_id,
            message_id=message.id,
            token="t" * 32,
            filename="skogen.png",
            content_type="image/png",
            size=len(png.getvalue()),
            data=png.getvalue(),
        )
    )
    db.session.commit()
    dispatch(message.id)
    run(sending.app)

    assert statuses(message) == {RecipientStatus.SENT: 6}
    mails = smtp_server.messages
    assert sorted(mail["To"] for mail in mails) == [f"vh{n}@example.se" for n in range(3)]
    assert {part.get_filename() for part in mails[0].iter_attachments()} == {"skogen.png"}
    assert billed(message) == 3


def test_reconcile_after_redis_forgot_everything_loses_nothing(sending, one_batch_a_job):
    message = sending.message(recipients=25)
    dispatch(message.id)
    send_batch(message.id, "sms", 1)
    settle(sending.app)
    redis_connection().flushdb()  # FLUSHALL, confined to this test's Redis database

    assert reconcile() == {"dispatched": 0, "batches": 2, "finished": 0}
    run(sending.app)

    assert statuses(message) == {RecipientStatus.SENT: 25}
    assert sending.server.count == 25
    assert billed(message) == 25
    assert reconcile() == {"dispatched": 0, "batches": 0, "finished": 0}


def test_reconcile_dispatches_a_confirmed_message_whose_job_is_gone(sending):
    message = sending.message(recipients=3)
    assert reconcile()["dispatched"] == 1
    run(sending.app)
    assert statuses(message) == {RecipientStatus.SENT: 3}


def test_a_claim_never_hands_a_row_to_two_workers(sending):
    message = sending.message(recipients=10)
    dispatch(message.id)
    first = claim(message.id, Channel.SMS, 0, 6)
    second = claim(message.id, Channel.SMS, 0, 6)
    assert len(first) == 6
    assert len(second) == 4
    assert not {row.id for row in first} & {row.id for row in second}
    assert claim(message.id, Channel.SMS, 0, 6) == []


def test_a_worker_whose_lease_ran_out_leaves_the_row_to_the_one_that_took_it_over(sending, caplog):
    message = sending.message(recipients=2)
    dispatch(message.id)
    facts = facts_of(message)
    slow = claim(message.id, Channel.SMS, 0, 2)
    with write_transaction():
        db.session.execute(db.update(Recipient).values(lease_until=utcnow()))  # it lapses
    taken_over = claim(message.id, Channel.SMS, 0, 2)
    assert {row.id for row in taken_over} == {row.id for row in slow}

    # The slow worker's SMS went out while the rows were the other's: it must neither
    # write them nor bill them (the organisation pays once a recipient).
    with caplog.at_level(logging.WARNING, logger="portal.messaging.batches"):
        record(
            facts,
            [sent(row.id, f"old-{row.id}", 1) for row in slow],
            slow[0].lease,
            Channel.SMS,
            0,
            2,
        )
    assert "2 SMS parts sent after their claim had passed to another worker" in caplog.text
    assert billed(message) == 0
    record(
        facts,
        [sent(row.id, f"new-{row.id}", 1) for row in taken_over],
        taken_over[0].lease,
        Channel.SMS,
        0,
        2,
    )

    assert statuses(message) == {RecipientStatus.SENT: 2}
    assert set(db.session.scalars(db.select(Recipient.provider_id))) == {
        f"new-{row.id}" for row in taken_over
    }
    assert billed(message) == 2


def record_sent(message, held, parts, claiming):
    """Record every row `held` (of batch 0) as sent in `parts` parts, claiming up to
    `claiming` more; returns what it claimed."""
    outcomes = [sent(row.id, f"id-{row.id}", parts) for row in held]
    return record(facts_of(message), outcomes, held[0].lease, Channel.SMS, 0, claiming)


def test_a_chunk_recorded_after_its_lease_ran_out_is_written_once_and_not_claimed_again(sending):
    # The rows' lease has passed (nobody took them over): they are claimable again, but
    # the record that writes them also claims the batch's next chunk, and must leave
    # them out of it.
    message = sending.message(recipients=4)
    dispatch(message.id)
    sending.app.config["SMS_LEASE_SECONDS"] = 0
    held = claim(message.id, Channel.SMS, 0, 2)
    sending.app.config["SMS_LEASE_SECONDS"] = 300

    claimed = record_sent(message, held, parts=1, claiming=2)

    assert len(claimed) == 2
    assert not {row.id for row in claimed} & {row.id for row in held}
    assert statuses(message) == {RecipientStatus.SENT: 2, RecipientStatus.CLAIMED: 2}
    assert billed(message) == 2


def test_a_chunk_that_uses_up_the_package_is_billed_across_it_and_the_next_claimed(sending):
    message = sending.message(recipients=5)
    dispatch(message.id)
    package = db.session.scalars(db.select(SmsPackage)).one()
    package.used = package.size - 3
    db.session.commit()
    held = claim(message.id, Channel.SMS, 0, 2)

    claimed = record_sent(message, held, parts=2, claiming=2)

    assert len(claimed) == 2
    packages = db.session.scalars(db.select(SmsPackage).order_by(SmsPackage.sequence)).all()
    assert [(p.used, p.closed_at is not None) for p in packages] == [
        (packages[0].size, True),
        (1, False),
    ]
    ledger = db.session.execute(
        db.select(UsageEntry.package_id, UsageEntry.units).where(
            UsageEntry.message_id == message.id
        )
    ).all()
    assert sorted(ledger) == [(packages[0].id, 3), (packages[1].id, 1)]
    invoices = db.session.scalars(db.select(Invoice.package_id)).all()
    assert invoices.count(packages[1].id) == 1


def test_an_over_long_provider_id_or_reason_is_cut_to_fit_and_the_chunk_recorded(sending):
    message = sending.message(recipients=2)
    dispatch(message.id)
    facts = facts_of(message)
    rows = claim(message.id, Channel.SMS, 0, 2)
    outcomes = [sent(rows[0].id, "s" * 150, 1), failed(rows[1].id, "nej " * 200)]
    record(facts, outcomes, rows[0].lease, Channel.SMS, 0, 0)

    assert statuses(message) == {RecipientStatus.SENT: 1, RecipientStatus.FAILED: 1}
    stored = {row.status: row for row in db.session.scalars(db.select(Recipient))}
    assert stored[RecipientStatus.SENT].provider_id == "s" * 100
    assert stored[RecipientStatus.FAILED].error == ("nej " * 200)[:500]
    assert billed(message) == 1
