"""The domain rules behind the confirmation, called directly: numbers, packages, the
digest, confirming exactly once, and the frozen recipients that the dispatch expands
exactly as confirmed (once, and never for a message cancelled first)."""

import threading

import pytest

from jobs.sending import dispatch
from portal.extensions import db
from portal.messaging import batches
from portal.messaging.cancelling import cancel_message
from portal.messaging.progress import progress
from portal.messaging.sending import (
    Draft,
    ReviewChanged,
    confirm_send,
    new_key,
    package_outlook,
    review,
)
from portal.models import (
    Channel,
    Message,
    MessageStatus,
    Person,
    Recipient,
    RecipientStatus,
    Role,
    SmsPackage,
)
from portal.models.base import utcnow
from portal.people.erasure import ERASED_ERROR, erase_person
from portal.recipients import parse_selection, resolve
from tests.directory_builders import Directory
from tests.test_messaging import recipient_count


@pytest.fixture
def d(make):
    return Directory(make)


@pytest.fixture
def klass(d):
    school = d.school()
    group = d.school_class(school, students=3, guardians=1)
    d.student(group, mobile=None)
    return group


@pytest.fixture
def teacher(d, klass):
    return d.staff(klass.school, klass)


def draft(group, subject="Hej", sms=True):
    selection = parse_selection({f"group-{group.id}": ["students", "guardians"]})
    return Draft(subject, "Text", selection, sms)


def open_package(organisation, remaining, size=10_000):
    db.session.add(
        SmsPackage(
            organisation_id=organisation.id,
            sequence=3,
            size=size,
            used=size - remaining,
            price_ore=1,
            opened_at=utcnow(),
        )
    )
    db.session.commit()


def test_units_are_recipients_times_segments(klass, teacher):
    result = review(draft(klass, "a" * 400), teacher)
    assert (result.email_recipients, result.sms_recipients, result.segments) == (7, 6, 3)
    assert result.units == 18
    assert dict(result.summary[Channel.SMS].left_out) == {"no_mobile": 1}


@pytest.mark.parametrize(
    ("remaining", "units", "opens"),
    [(19, 18, ()), (18, 18, (4,)), (17, 18, (4,)), (0, 1, (4,)), (5, 10_006, (4, 5))],
)
def test_the_packages_a_send_opens(d, remaining, units, opens):
    open_package(d.organisation, remaining)
    outlook = package_outlook(d.organisation, units)
    assert (outlook.sequence, outlook.remaining, outlook.opens) == (3, remaining, opens)


def test_without_a_package_the_first_is_opened(d):
    assert package_outlook(d.organisation, 1).opens == (1,)


def test_the_digest_binds_the_key_the_text_and_the_numbers(d, klass, teacher):
    key = new_key()
    shown = review(draft(klass), teacher, key)
    assert review(draft(klass), teacher, key).digest == shown.digest
    assert review(draft(klass), teacher, new_key()).digest != shown.digest
    assert review(draft(klass, "Hej!"), teacher, key).digest != shown.digest
    assert review(draft(klass, sms=False), teacher, key).digest != shown.digest
    d.guardian(d.student(klass))
    assert review(draft(klass), teacher, key).digest != shown.digest


def test_confirm_once_per_key(klass, teacher):
    shown = review(draft(klass), teacher)
    first = confirm_send(draft(klass), teacher, shown.key, shown.digest)
    again = confirm_send(draft(klass), teacher, shown.key, shown.digest)
    assert first.id == again.id and first.status == MessageStatus.QUEUED
    assert recipient_count() == 13


def test_a_stale_digest_gets_a_fresh_review(d, klass, teacher):
    shown = review(draft(klass), teacher)
    d.student(klass)
    with pytest.raises(ReviewChanged) as changed:
        confirm_send(draft(klass), teacher, shown.key, shown.digest)
    assert changed.value.review.email_recipients == 8
    assert db.session.scalars(db.select(Message)).all() == []


def test_concurrent_confirms_create_one_message(app, klass, teacher):
    shown = review(draft(klass), teacher)
    teacher_id, barrier, ids = teacher.id, threading.Barrier(4), []

    def confirm():
        with app.app_context():
            sender = db.session.get(type(teacher), teacher_id)
            barrier.wait()
            ids.append(confirm_send(draft(klass), sender, shown.key, shown.digest).id)
            db.session.remove()

    threads = [threading.Thread(target=confirm) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.session.rollback()
    assert len(set(ids)) == 1 and len(ids) == 4
    assert len(db.session.scalars(db.select(Message)).all()) == 1
    assert recipient_count() == 13


# Frozen until the dispatch

BOTH = (Channel.EMAIL, Channel.SMS)


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


def batch_sizes(message):
    return db.session.execute(
        db.select(Recipient.channel, Recipient.batch_no, db.func.count())
        .where(Recipient.message_id == message.id)
        .group_by(Recipient.channel, Recipient.batch_no)
        .order_by(Recipient.channel, Recipient.batch_no)
    ).all()


@pytest.mark.parametrize("erased_first", [False, True], ids=["frozen", "expanded-earlier"])
def test_the_dispatch_numbers_each_channel_into_batches(
    app, monkeypatch, klass, teacher, erased_first
):
    monkeypatch.setitem(app.config, "SMS_BATCH_SIZE", 4)
    message = confirmed(klass, teacher)
    if erased_first:  # erasing someone expands the list into rows before the dispatch
        erase_person(a_guardian(), by=teacher)
        db.session.commit()

    assert batches.start(message.id)
    assert batch_sizes(message) == [
        (Channel.EMAIL, 0, 4),
        (Channel.EMAIL, 1, 3),
        (Channel.SMS, 0, 4),
        (Channel.SMS, 1, 2),
    ]


def a_guardian():
    return db.session.scalars(
        db.select(Person).where(Person.role == Role.GUARDIAN, Person.mobile.is_not(None))
    ).first()


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
