"""Constraints that protect money and messages live in the schema itself."""

from datetime import datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, StatementError

from portal.extensions import db
from portal.models import (
    Channel,
    Invoice,
    Message,
    Person,
    Recipient,
    Role,
    SmsPackage,
)


def _commit_fails(*objects):
    db.session.add_all(objects)
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


@pytest.fixture
def org(make):
    return make.org()


def _package(org, sequence=1, **fields):
    return SmsPackage(
        organisation_id=org.id, sequence=sequence, size=10_000, price_ore=450_000, **fields
    )


def test_package_sequence_is_unique_per_organisation(org, make):
    db.session.add(_package(org))
    db.session.commit()
    _commit_fails(_package(org))
    other = make.org()
    db.session.add(_package(other))
    db.session.commit()


@pytest.mark.parametrize("used", [-1, 10_001])
def test_package_use_stays_within_its_size(org, used):
    _commit_fails(_package(org, used=used))


def test_one_invoice_per_package(org):
    package = _package(org)
    db.session.add(package)
    db.session.commit()
    db.session.add(Invoice(number="F-1", organisation_id=org.id, package=package, amount_ore=1))
    db.session.commit()
    _commit_fails(
        Invoice(number="F-2", organisation_id=org.id, package_id=package.id, amount_ore=1)
    )


def test_one_recipient_per_message_person_and_channel(org, make):
    author = make.person(Role.STAFF, org)
    guardian = make.person(Role.GUARDIAN, org, mobile="+46701740605")
    message = Message(organisation_id=org.id, author=author, subject="Hej")
    db.session.add(message)
    db.session.commit()

    def row(channel):
        return Recipient(message=message, person_id=guardian.id, channel=channel, address="x")

    db.session.add_all([row(Channel.SMS), row(Channel.EMAIL)])
    db.session.commit()
    _commit_fails(row(Channel.SMS))


def test_status_values_are_checked_by_the_database(org):
    with pytest.raises(IntegrityError):
        db.session.execute(
            text("UPDATE organisations SET sms_status = 'paused' WHERE id = :id"), {"id": org.id}
        )
        db.session.commit()
    db.session.rollback()


def test_operators_have_no_organisation_and_others_have_one(org):
    _commit_fails(
        Person(role=Role.OPERATOR, organisation_id=org.id, given_name="O", family_name="P")
    )
    _commit_fails(Person(role=Role.STAFF, given_name="S", family_name="T"))


def test_mobile_is_stored_in_e164(org):
    _commit_fails(
        Person(
            role=Role.GUARDIAN,
            organisation_id=org.id,
            given_name="G",
            family_name="H",
            mobile="0701740605",
        )
    )


def test_emails_are_unique_whatever_the_case(org, make):
    make.person(Role.STAFF, org, email="Lena@Example.se")
    _commit_fails(
        Person(
            role=Role.STAFF,
            organisation_id=org.id,
            given_name="L",
            family_name="K",
            email="lena@example.se ",
        )
    )


def test_naive_timestamps_are_refused(org):
    org.sms_activated_at = datetime(2026, 1, 1, 12, 0)
    with pytest.raises(StatementError, match="naive"):
        db.session.commit()
    db.session.rollback()


def test_timestamps_come_back_aware_utc(org):
    db.session.expire_all()
    assert org.created_at.utcoffset().total_seconds() == 0
