"""The operators' operations page, against a real Redis: queue depths, failed jobs and
their retry, provider statistics, messages in progress and late orders."""

import time
from datetime import timedelta

import pytest
from rq import Queue

from jobs.sending import dispatch
from jobs.worker import build_worker
from portal.extensions import db
from portal.models import AuditEvent, Channel, MessageStatus, RecipientStatus, Role
from portal.operations import metrics, status
from portal.queue import enqueue, get_queue, redis_connection
from tests.conftest import AuthActions, csrf_token
from tests.tenants import make_message
from tests.test_overdue import waiting_order

FLAKY_KEY = "test-operations:flaky-runs"


def flaky(message_id):
    """Fails the first time it runs (naming a number, as a provider error might)."""
    if redis_connection().incr(FLAKY_KEY) == 1:
        raise RuntimeError(f"provider refused +46701740605 for message {message_id}")
    return message_id


@pytest.fixture
def operator(make, client):
    person = make.person(Role.OPERATOR, given_name="Olle", family_name="Operatör")
    AuthActions(client).login(person.email)
    db.session.rollback()  # end the test's read snapshot: the sign-in wrote to the database
    return person


@pytest.fixture
def failed_job(app, run_jobs):
    enqueue(flaky, 42, job_id="send-42-1", queue="sending", retries=0)
    run_jobs()
    assert get_queue("sending").failed_job_registry.count == 1
    return "send-42-1"


def test_a_failed_job_is_listed_with_a_masked_error(client, operator, failed_job):
    html = client.get("/admin/operations").get_data(as_text=True)
    assert "send-42-1" in html
    assert "tests.test_operations.flaky(42)" in html
    assert "RuntimeError: provider refused +46*******05 for message 42" in html
    assert "+46701740605" not in html
    assert f'action="/admin/operations/failed/{failed_job}/retry"' in html


def test_retry_puts_the_job_back_and_it_runs(client, operator, failed_job, run_jobs):
    page = client.get("/admin/operations").get_data(as_text=True)
    response = client.post(
        f"/admin/operations/failed/{failed_job}/retry", data={"csrf_token": csrf_token(page)}
    )
    assert response.status_code == 303
    queue = get_queue("sending")
    assert (queue.count, queue.failed_job_registry.count) == (1, 0)
    assert "Jobbet send-42-1 ligger i kön igen." in client.get("/admin/operations").get_data(
        as_text=True
    )
    db.session.rollback()
    event = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "job.requeued")
    ).one()
    assert (event.actor_id, event.details) == (operator.id, {"job": failed_job, "queue": "sending"})

    run_jobs()
    assert queue.fetch_job(failed_job).get_status() == "finished"
    assert "Inga misslyckade jobb." in client.get("/admin/operations").get_data(as_text=True)


def test_retrying_a_job_that_is_no_longer_failed_says_so(client, operator, failed_job):
    token = csrf_token(client.get("/admin/operations").get_data(as_text=True))
    assert (
        client.post(
            f"/admin/operations/failed/{failed_job}/retry", data={"csrf_token": token}
        ).status_code
        == 303
    )
    again = client.post(
        f"/admin/operations/failed/{failed_job}/retry",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "Jobbet finns inte längre bland de misslyckade." in again.get_data(as_text=True)
    db.session.rollback()
    assert (
        db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "job.requeued")).all()
        != []
    )
    assert get_queue("sending").count == 1


def test_retry_needs_csrf_and_a_well_formed_id(client, operator, failed_job):
    assert client.post(f"/admin/operations/failed/{failed_job}/retry").status_code == 400
    token = csrf_token(client.get("/admin/operations").get_data(as_text=True))
    response = client.post("/admin/operations/failed/a%20b%3Cc/retry", data={"csrf_token": token})
    assert response.status_code == 404
    assert get_queue("sending").failed_job_registry.count == 1


def test_queue_depths_count_waiting_scheduled_and_failed_jobs(app, client, operator, failed_job):
    queue = Queue("mail", connection=redis_connection())
    queue.enqueue(flaky, 1)
    queue.enqueue(flaky, 2)
    queue.enqueue_in(timedelta(hours=1), flaky, 3)
    depths = {depth.name: depth for depth in status.queue_depths()}
    assert (depths["mail"].queued, depths["mail"].scheduled) == (2, 1)
    assert depths["sending"].failed == 1
    assert depths["default"].queued == 0
    html = client.get("/admin/operations").get_data(as_text=True)
    assert "E-post" in html and "Utskick" in html


def test_provider_calls_are_counted_per_minute_for_the_last_hour(app):
    now = time.time()
    metrics.record_provider_calls(10, 1, 2.0, now=now)
    metrics.record_provider_calls(5, 0, 0.5, now=now - 60)
    metrics.record_provider_calls(100, 100, 100.0, now=now - 61 * 60)  # older than the hour
    stats = metrics.provider_stats(minutes=60, now=now)
    assert (stats.calls, stats.errors) == (15, 1)
    assert stats.seconds == pytest.approx(2.5)
    assert stats.error_rate == pytest.approx(1 / 15)
    assert stats.mean_latency_ms == pytest.approx(2500 / 15)
    ttl = redis_connection().ttl(f"{metrics.KEY_PREFIX}{int(now // 60)}")
    assert 0 < ttl <= 2 * 3600


def test_provider_statistics_on_the_page(client, operator):
    assert "Inga anrop till SMS-leverantören" in client.get("/admin/operations").get_data(
        as_text=True
    )
    metrics.record_provider_calls(30, 3, 6.0)
    html = client.get("/admin/operations").get_data(as_text=True)
    assert ">30<" in html
    assert "10,0\u00a0%" in html
    assert "200 ms" in html


def test_the_sending_pipeline_counts_its_provider_calls(sending):
    """What the page shows comes from real sending: every SMS offered, refusals as errors."""
    message = sending.message(recipients=5)
    sending.server.reject(sending.numbers[2], 400, "Invalid to number")
    dispatch(message.id)
    build_worker(sending.app).work(burst=True)
    stats = metrics.provider_stats()
    assert (stats.calls, stats.errors) == (5, 1)
    assert stats.seconds > 0


def test_nothing_is_recorded_for_no_calls(app):
    metrics.record_provider_calls(0, 0, 0.0)
    assert metrics.provider_stats().calls == 0
    assert metrics.provider_stats().error_rate is None


def test_messages_in_progress_with_their_counts(client, operator, make):
    org = make.org(name="Pågående kommun")
    staff = make.person(Role.STAFF, org)
    people = [make.person(Role.GUARDIAN, org) for _ in range(5)]
    states = [
        RecipientStatus.PENDING,
        RecipientStatus.CLAIMED,
        RecipientStatus.SENT,
        RecipientStatus.DELIVERED,
        RecipientStatus.FAILED,
    ]
    sending = make_message(
        staff,
        status=MessageStatus.SENDING,
        subject="Hemlig rubrik",
        recipients=[
            (person, Channel.SMS, state, "+4670174060" + str(n))
            for n, (person, state) in enumerate(zip(people, states, strict=True))
        ],
    )
    make_message(staff, status=MessageStatus.DONE)
    messages, total = status.messages_in_progress()
    assert total == 1
    (progress,) = messages
    assert progress.id == sending.id and progress.organisation == "Pågående kommun"
    assert progress.count("pending", "claimed") == 2 and progress.count("failed") == 1

    html = client.get("/admin/operations").get_data(as_text=True)
    assert f"#{sending.id}" in html and "Pågående kommun" in html
    assert "Hemlig rubrik" not in html  # operators see progress, not what was written


def test_late_orders_are_listed(client, operator):
    waiting_order(30, "Sen kommun")
    waiting_order(21, "Nästan sen kommun")
    waiting_order(1, "I tid kommun")
    html = client.get("/admin/operations").get_data(as_text=True)
    assert "Sen kommun" in html and "6 timmar försenad" in html
    assert "Nästan sen kommun" in html and "2 timmar kvar" in html
    assert "I tid kommun" not in html


@pytest.mark.parametrize("role", [Role.ADMIN, Role.STAFF, Role.GUARDIAN])
def test_only_operators_see_the_page(app, make, role, failed_job):
    client = app.test_client()
    AuthActions(client).login(make.person(role).email)
    assert client.get("/admin/operations").status_code == 403
    token = csrf_token(client.get("/").get_data(as_text=True))
    response = client.post(
        f"/admin/operations/failed/{failed_job}/retry", data={"csrf_token": token}
    )
    assert response.status_code == 403
    assert get_queue("sending").failed_job_registry.count == 1


def test_the_menu_links_the_page_for_operators(client, operator):
    assert 'href="/admin/operations"' in client.get("/").get_data(as_text=True)
