"""An organisation ready to send through a local 46elks-shaped server, and messages
with frozen recipients: the `sending` fixture of the sending tests."""

import os

import pytest
from sqlalchemy import delete, select, update

from portal.billing.packages import open_package
from portal.billing.prices import set_price
from portal.database import write_transaction
from portal.extensions import db
from portal.models import Channel, Message, MessageStatus, Person, Recipient, Role
from portal.models.base import utcnow
from portal.recipients.frozen import as_list
from portal.sms.providers import DELIVERY_PATH, delivery_token
from portal.sms.providers.elks import ElksProvider

PRICE_ORE = 450_000


@pytest.fixture
def sending(app, make_app, make, elks_server):
    """An app sending through `elks_server` (its context pushed), with an organisation
    that has SMS active and package #1 open."""
    overrides = {
        "SMS_PROVIDER": "46elks",
        "ELKS_API_URL": elks_server.url,
        "ELKS_API_USERNAME": elks_server.username,
        "ELKS_API_PASSWORD": elks_server.password,
        "SMS_RATE_PER_SECOND": 10_000,
        "SMS_BATCH_SIZE": 10,
        "SMS_CHUNK_SIZE": 4,
    }
    sending_app = make_app(**overrides)
    with sending_app.app_context():
        yield Sending(sending_app, make, elks_server, overrides)


class Sending:
    def __init__(self, app, make, server, overrides):
        self.app, self.make, self.server = app, make, server
        self.overrides = overrides
        self.organisation = make.org(name="Testkommun")
        self.organisation.sms_sender = "Testkommun"
        operator = make.person(Role.OPERATOR, password=None)
        with write_transaction():
            set_price(PRICE_ORE, operator)
            open_package(self.organisation, by=operator)
        self.author = make.person(Role.STAFF, self.organisation, password=None)
        self.numbers = []

    @property
    def token(self):
        return delivery_token()

    @property
    def hook_path(self):
        return f"{DELIVERY_PATH}?token={self.token}"

    def message(self, recipients, text="Hej från skolan", email=False, frozen=False):
        """A confirmed (queued) message to `recipients` new guardians with mobiles: as
        recipient rows, or `frozen` as a confirmation leaves it (a list the dispatch
        makes rows of)."""
        start = len(self.numbers)
        self.numbers += [f"+4670{n:07d}" for n in range(start, start + recipients)]
        people = [
            Person(
                role=Role.GUARDIAN,
                organisation_id=self.organisation.id,
                given_name="Vh",
                family_name=str(n),
                email=f"vh{n}@example.se",
                mobile=number,
                terms_accepted_at=utcnow(),
            )
            for n, number in enumerate(self.numbers[start:], start)
        ]
        message = Message(
            organisation_id=self.organisation.id,
            author_id=self.author.id,
            subject=text,
            body="",
            send_sms=True,
            status=MessageStatus.QUEUED,
        )
        db.session.add_all([message, *people])
        db.session.flush()
        channels = (Channel.SMS, Channel.EMAIL) if email else (Channel.SMS,)
        db.session.add_all(
            Recipient(
                message_id=message.id,
                person_id=person.id,
                channel=channel,
                address=person.mobile if channel == Channel.SMS else person.email,
            )
            for channel in channels
            for person in people
        )
        if frozen:
            _freeze_rows(message)
        db.session.commit()
        return message

    def use_provider(self, *, read_timeout=None, after_send=None):
        """Send through an ElksProvider with these settings (and a hook after each
        accepted SMS) instead of the configured one."""
        config = self.app.config
        options = {"read_timeout": read_timeout} if read_timeout else {}
        provider = ElksProvider(
            config["ELKS_API_URL"],
            config["ELKS_API_USERNAME"],
            config["ELKS_API_PASSWORD"],
            **options,
        )
        if after_send is not None:
            provider = _Observed(provider, after_send)
        self.app.extensions["sms_provider"] = (os.getpid(), provider)


def _freeze_rows(message):
    """Turn the message's recipient rows into its frozen list."""
    rows = Recipient.__table__.c
    of_message = rows.message_id == message.id
    listed = select(as_list((rows.person_id, rows.channel, rows.address))).where(of_message)
    db.session.execute(
        update(Message.__table__)
        .where(Message.__table__.c.id == message.id)
        .values(frozen_recipients=listed.scalar_subquery())
    )
    db.session.execute(delete(Recipient.__table__).where(of_message))


class _Observed:
    def __init__(self, provider, after_send):
        self.provider, self.after_send = provider, after_send

    def send(self, outgoing):
        accepted = self.provider.send(outgoing)
        self.after_send(accepted)
        return accepted
