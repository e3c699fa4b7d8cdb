"""Activation opens and invoices packages exactly; deactivation stops new ones."""

import threading

import pytest

from portal.billing.packages import SmsStateUnchanged, activate_sms, deactivate_sms, open_package
from portal.billing.prices import NoPrice, current_price, set_price
from portal.database import in_write_transaction, write_transaction
from portal.extensions import db
from portal.models import AuditEvent, Invoice, Role, SmsPackage, SmsStatus
from tests.conftest import fresh


@pytest.fixture
def operator(make):
    return make.person(Role.OPERATOR)


@pytest.fixture
def priced(operator):
    with write_transaction():
        set_price(450_000, operator)
    return operator


def _packages(organisation):
    db.session.rollback()
    return db.session.scalars(
        db.select(SmsPackage)
        .where(SmsPackage.organisation_id == organisation.id)
        .order_by(SmsPackage.sequence)
    ).all()


def _actions():
    return [
        event.action for event in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id))
    ]


def test_the_newest_price_is_current_and_changes_are_audited(operator):
    assert current_price() is None
    with write_transaction():
        set_price(450_000, operator)
    with write_transaction():
        set_price(500_000, operator)
    assert current_price().amount_ore == 500_000
    assert _actions() == ["price.set", "price.set"]


def test_activation_opens_and_invoices_package_one(make, priced, app):
    organisation = make.org(sms=SmsStatus.INACTIVE)
    with write_transaction():
        opened = activate_sms(db.session.merge(organisation), by=priced)
    (package,) = _packages(organisation)
    assert (package.sequence, package.size, package.used) == (1, app.config["SMS_PACKAGE_SIZE"], 0)
    assert package.price_ore == package.invoice.amount_ore == 450_000
    assert package.invoice.number.startswith("F-") and package.invoice.number.endswith("-000001")
    assert opened.id == package.id
    assert fresh(organisation).sms_status == SmsStatus.ACTIVE
    assert _actions()[-2:] == ["package.opened", "sms.activated"]


def test_without_a_price_nothing_is_activated(make, operator):
    organisation = make.org(sms=SmsStatus.INACTIVE)
    with pytest.raises(NoPrice), write_transaction():
        activate_sms(db.session.merge(organisation), by=operator)
    assert fresh(organisation).sms_status == SmsStatus.INACTIVE
    assert _packages(organisation) == []


def test_reactivation_continues_a_package_with_units_left(make, priced):
    organisation = make.org(sms=SmsStatus.INACTIVE)
    with write_transaction():
        activate_sms(db.session.merge(organisation), by=priced)
    with write_transaction():
        deactivate_sms(db.session.merge(organisation), by=priced, reason="Byter leverantör")
    assert fresh(organisation).sms_status == SmsStatus.DEACTIVATED
    with write_transaction():
        assert activate_sms(db.session.merge(organisation), by=priced) is None
    assert len(_packages(organisation)) == 1
    assert db.session.scalar(db.select(db.func.count(Invoice.id))) == 1


def test_reactivation_after_a_used_up_package_invoices_the_next(make, priced, app):
    organisation = make.org(sms=SmsStatus.INACTIVE)
    with write_transaction():
        activate_sms(db.session.merge(organisation), by=priced)
        deactivate_sms(db.session.merge(organisation), by=priced)
    (package,) = _packages(organisation)
    with write_transaction():
        set_price(480_000, priced)
        db.session.merge(package).used = package.size
    with write_transaction():
        activate_sms(db.session.merge(organisation), by=priced)
    first, second = _packages(organisation)
    assert first.closed_at is not None and second.closed_at is None
    assert (first.invoice.amount_ore, second.invoice.amount_ore) == (450_000, 480_000)
    assert second.sequence == 2


@pytest.mark.parametrize("status", [SmsStatus.ACTIVE])
def test_activating_twice_is_refused(make, priced, status):
    organisation = make.org(sms=status)
    with pytest.raises(SmsStateUnchanged), write_transaction():
        activate_sms(db.session.merge(organisation), by=priced)


@pytest.mark.parametrize("status", [SmsStatus.INACTIVE, SmsStatus.DEACTIVATED])
def test_deactivating_what_is_not_active_is_refused(make, priced, status):
    organisation = make.org(sms=status)
    with pytest.raises(SmsStateUnchanged), write_transaction():
        deactivate_sms(db.session.merge(organisation), by=priced)


def test_concurrent_packages_get_distinct_invoice_numbers(app, make, priced):
    organisations = [make.org(sms=SmsStatus.INACTIVE) for _ in range(4)]
    ids = [organisation.id for organisation in organisations]
    barrier = threading.Barrier(len(ids))
    errors = []

    def activate(organisation_id):
        with app.app_context():
            barrier.wait()
            try:
                in_write_transaction(
                    lambda: open_package(db.session.get(type(organisations[0]), organisation_id))
                )
            except Exception as error:
                errors.append(error)
            db.session.remove()

    threads = [threading.Thread(target=activate, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    db.session.rollback()
    numbers = db.session.scalars(db.select(Invoice.number)).all()
    assert len(numbers) == len(set(numbers)) == 4
