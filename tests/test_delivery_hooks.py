"""46elks' delivery reports: POST /hooks/46elks/delivery moves an SMS recipient forward,
once, and keeps reports that arrive before the worker wrote the provider id."""

import threading

import pytest
from werkzeug.serving import make_server

from portal.extensions import db
from portal.models import Channel, RecipientStatus
from portal.queue import redis_connection
from portal.sms.delivery import (
    EARLY_PREFIX,
    EARLY_SECONDS,
    apply_deliveries,
    take_early_reports,
)
from portal.sms.providers import DELIVERY_PATH, delivery_token
from portal.sms.providers.base import Outgoing
from portal.sms.providers.elks import ElksProvider
from tests.conftest import fresh
from tests.elks import PASSWORD, USERNAME

UNDELIVERED = "Kunde inte levereras till mottagarens telefon"


@pytest.fixture
def report(client):
    def post(provider_id="s1", status="delivered", token=None, **form):
        token = delivery_token() if token is None else token
        data = {"id": provider_id, "status": status, **form}
        if status == "delivered":
            data.setdefault("delivered", "2026-03-02T08:15:00.123000")
        return client.post(
            f"{DELIVERY_PATH}?token={token}", data={k: v for k, v in data.items() if v is not None}
        )

    return post


@pytest.fixture
def sent(make):
    """A factory of SMS recipients the provider accepted, by provider id."""
    message = make.message()

    def recipient(provider_id, status=RecipientStatus.SENT):
        return make.recipient(message, status=status, provider_id=provider_id, parts=1)

    return recipient


def test_delivered(report, sent):
    recipient = sent("s-delivered")
    response = report("s-delivered")
    assert response.status_code == 204
    assert response.get_data() == b""
    assert fresh(recipient).status == RecipientStatus.DELIVERED
    assert recipient.error is None


def test_failed_gets_a_swedish_reason(report, sent):
    recipient = sent("s-failed")
    assert report("s-failed", "failed").status_code == 204
    assert fresh(recipient).status == RecipientStatus.FAILED
    assert recipient.error == UNDELIVERED


def test_a_claimed_recipient_with_its_provider_id_moves_too(report, sent):
    recipient = sent("s-claimed", RecipientStatus.CLAIMED)
    assert report("s-claimed").status_code == 204
    assert fresh(recipient).status == RecipientStatus.DELIVERED


def test_sent_reports_change_nothing(report, sent):
    recipient = sent("s-sent")
    assert report("s-sent", "sent").status_code == 204
    assert fresh(recipient).status == RecipientStatus.SENT
    assert redis_connection().get(EARLY_PREFIX + "s-sent") is None


def test_duplicates_are_acknowledged_and_change_nothing(report, sent):
    recipient = sent("s-twice")
    assert report("s-twice").status_code == 204
    assert report("s-twice").status_code == 204
    assert fresh(recipient).status == RecipientStatus.DELIVERED


@pytest.mark.parametrize(
    ("first", "then", "final"),
    [
        ("delivered", "failed", RecipientStatus.DELIVERED),
        ("failed", "delivered", RecipientStatus.FAILED),
        ("delivered", "sent", RecipientStatus.DELIVERED),
    ],
)
def test_status_only_moves_forward(report, sent, first, then, final):
    recipient = sent("s-order")
    report("s-order", first)
    assert report("s-order", then).status_code == 204
    assert fresh(recipient).status == final


@pytest.mark.parametrize("status", ["delivered", "failed"])
def test_cancelled_and_unsent_recipients_are_left_alone(report, sent, status):
    cancelled = sent("s-cancelled", RecipientStatus.CANCELLED)
    assert report("s-cancelled", status).status_code == 204
    assert fresh(cancelled).status == RecipientStatus.CANCELLED


def test_an_email_recipient_is_not_an_sms(report, make):
    message = make.message()
    mail = make.recipient(
        message, channel=Channel.EMAIL, status=RecipientStatus.SENT, provider_id="s-mail"
    )
    assert report("s-mail").status_code == 204
    assert fresh(mail).status == RecipientStatus.SENT


def test_unknown_id_is_acknowledged_and_kept_for_the_pipeline(report, app):
    assert report("s-early", "failed").status_code == 204
    assert 0 < redis_connection().ttl(EARLY_PREFIX + "s-early") <= EARLY_SECONDS
    assert report("s-early", "delivered").status_code == 204

    assert take_early_reports(["s-early", "s-other"]) == {"s-early": "failed"}
    assert take_early_reports(["s-early"]) == {}
    assert take_early_reports([]) == {}


def test_the_pipeline_applies_early_reports_after_writing_provider_ids(report, sent):
    for provider_id in ("s-a", "s-b", "s-c"):
        report(provider_id, "failed" if provider_id == "s-c" else "delivered")
    a, b, c, d = sent("s-a"), sent("s-b"), sent("s-c"), sent("s-d")

    reports = take_early_reports(["s-a", "s-b", "s-c", "s-d"])
    assert apply_deliveries(reports) == 3
    db.session.commit()

    assert [fresh(r).status for r in (a, b, c, d)] == [
        RecipientStatus.DELIVERED,
        RecipientStatus.DELIVERED,
        RecipientStatus.FAILED,
        RecipientStatus.SENT,
    ]
    assert apply_deliveries(reports) == 0


@pytest.mark.parametrize("token", ["", "wrong", "å" * 64, "0" * 64])
def test_bad_token_is_refused_and_changes_nothing(report, sent, token):
    recipient = sent("s-token")
    assert report("s-token", token=token).status_code == 403
    assert report("s-unknown", token=token).status_code == 403
    assert fresh(recipient).status == RecipientStatus.SENT
    assert redis_connection().get(EARLY_PREFIX + "s-unknown") is None


def test_missing_token_is_refused(client, sent):
    recipient = sent("s-untokened")
    response = client.post(DELIVERY_PATH, data={"id": "s-untokened", "status": "delivered"})
    assert response.status_code == 403
    assert fresh(recipient).status == RecipientStatus.SENT


@pytest.mark.parametrize(
    ("form", "text"),
    [
        ({"id": None}, "id"),
        ({"id": ""}, "id"),
        ({"id": "s" * 101}, "id"),
        ({"status": None}, "status"),
        ({"status": "read"}, "status"),
        ({"status": "DELIVERED"}, "status"),
    ],
)
def test_malformed_reports_are_refused_and_change_nothing(report, sent, form, text):
    recipient = sent("s-malformed")
    fields = {"provider_id": "s-malformed", "status": "delivered"}
    if "id" in form:
        fields["provider_id"] = form["id"]
    if "status" in form:
        fields["status"] = form["status"]
    response = report(**fields)
    assert response.status_code == 400
    assert text in response.get_data(as_text=True)
    assert response.mimetype == "text/plain"
    assert fresh(recipient).status == RecipientStatus.SENT


def test_no_csrf_token_and_no_session_are_needed(report, sent, app):
    assert app.config.get("WTF_CSRF_ENABLED", True)
    recipient = sent("s-csrf")
    response = report("s-csrf")
    assert response.status_code == 204
    assert "Set-Cookie" not in response.headers
    assert fresh(recipient).status == RecipientStatus.DELIVERED


def test_reports_from_the_wire_over_http(app, sent, elks_server):
    """The whole loop: the provider sends to the 46elks-shaped server with a callback to a
    live app, and that server's delivery reports move the recipients."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        callback = f"http://127.0.0.1:{server.port}{DELIVERY_PATH}?token={delivery_token()}"
        provider = ElksProvider(elks_server.url, USERNAME, PASSWORD)
        recipients = []
        for number in ("+46701111111", "+46702222222"):
            accepted = provider.send(Outgoing(number, "Skolan", "Hej", callback))
            recipients.append(sent(accepted.provider_id))
        provider.close()

        assert elks_server.send_delivery_reports("sent") == [204, 204]
        assert elks_server.send_delivery_reports("delivered") == [204, 204]
        assert elks_server.send_delivery_reports("failed") == [204, 204]
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
    assert {fresh(r).status for r in recipients} == {RecipientStatus.DELIVERED}
