"""A confirmed message's recipients stay frozen on it until the dispatch expands them:
exactly the people and addresses confirmed, expanded once, never if cancelled first."""

import pytest

from jobs.sending import dispatch
from portal.extensions import db
from portal.messaging import batches
from portal.messaging.cancelling import cancel_message
from portal.messaging.progress import progress
from portal.messaging.sending import confirm_send, review
from portal.models import Channel, Message, Person, Recipient, RecipientStatus, Role
from portal.people.erasure import ERASED_ERROR, erase_person
from portal.recipients import resolve
from tests.directory_builders import Directory
from tests.test_messaging_sending import draft

BOTH = (Channel.EMAIL, Channel.SMS)


@pytest.fixture
def d(make):
    return Directory(make)


@pytest.fixture
def klass(d):
    group = d.school_class(d.school(), students=3, guardians=1)
    d.student(group, mobile=None)
    return group


@pytest.fixture
def teacher(d, klass):
    return d.staff(klass.school, klass)


def confirmed(klass, teacher) -> Message:
    shown = review(draft(klass), teacher)
    return confirm_send(draft(klass), teacher, shown.key, shown.digest)


def rows(message):
    db.session.rollback()
    return db.session.execute(
        db.select(Recipient.channel, Recipient.person_id, Recipient.address, Recipient.status)
        .where(Recipient.message_id == message.id)
        .order_by(Recipient.channel, Recipient.person_id)
    ).all()


def as_rows(resolution, status=RecipientStatus.PENDING):
    return sorted(
        (channel, target.person_id, target.address, status)
        for channel in BOTH
        for target in resolution[channel].recipients
    )


def frozen_list(message):
    return db.session.scalar(db.select(Message.frozen_recipients).filter_by(id=message.id))


def test_the_dispatch_sends_to_whom_and_where_the_confirmation_counted(d, klass, teacher):
    expected = resolve(draft(klass).selection, teacher, BOTH)
    message = confirmed(klass, teacher)
    assert rows(message) == []

    # The directory changes between the confirmation and the dispatch.
    moved = db.session.get(Person, expected[Channel.SMS].recipients[0].person_id)
    moved.email, moved.mobile = "ny.adress@example.se", "+46701234567"
    gone = db.session.get(Person, expected[Channel.EMAIL].recipients[-1].person_id)
    gone.active = False
    d.student(klass)
    db.session.commit()

    assert batches.start(message.id)
    assert rows(message) == as_rows(expected)
    assert frozen_list(message) is None


def test_a_dispatch_that_runs_twice_inserts_once(klass, teacher):
    message = confirmed(klass, teacher)
    assert batches.start(message.id)
    first = rows(message)
    assert batches.start(message.id)
    assert rows(message) == first and len(first) == 13


def test_until_the_dispatch_the_frozen_list_counts_as_queued(klass, teacher):
    message = confirmed(klass, teacher)

    def counts():
        return {part.channel: dict(part.counts) for part in progress([message])[message.id]}

    queued = {
        Channel.EMAIL: {RecipientStatus.PENDING: 7},
        Channel.SMS: {RecipientStatus.PENDING: 6},
    }
    assert counts() == queued
    batches.start(message.id)
    assert counts() == queued


def test_a_message_cancelled_before_its_dispatch_sends_nothing(klass, teacher):
    message = confirmed(klass, teacher)

    assert cancel_message(message, teacher) == 13
    assert dispatch(message.id) == 0
    assert {row.status for row in rows(message)} == {RecipientStatus.CANCELLED}
    assert len(rows(message)) == 13 and frozen_list(message) is None


def test_erasing_a_person_reaches_a_list_not_yet_dispatched(d, klass, teacher):
    expected = resolve(draft(klass).selection, teacher, BOTH)
    message = confirmed(klass, teacher)
    guardian = next(
        person
        for target in expected[Channel.SMS].recipients
        if (person := db.session.get(Person, target.person_id)).role == Role.GUARDIAN
    )
    erase_person(guardian, by=teacher)
    db.session.commit()

    assert batches.start(message.id)
    erased = db.session.execute(
        db.select(Recipient.address, Recipient.status, Recipient.error).where(
            Recipient.message_id == message.id, Recipient.person_id == guardian.id
        )
    ).all()
    assert erased == [("", RecipientStatus.CANCELLED, ERASED_ERROR)] * 2
    assert len(rows(message)) == 13
