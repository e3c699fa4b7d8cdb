"""The domain rules behind the confirmation, called directly: numbers, packages, the
digest and confirming exactly once."""

import threading

import pytest

from portal.extensions import db
from portal.messaging.sending import (
    Draft,
    ReviewChanged,
    confirm_send,
    new_key,
    package_outlook,
    review,
)
from portal.models import Channel, Message, MessageStatus, SmsPackage
from portal.models.base import utcnow
from portal.recipients import parse_selection
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
