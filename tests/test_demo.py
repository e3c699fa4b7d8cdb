"""`flask seed-demo`: what the demo database holds, and when seeding refuses."""

from datetime import timedelta

import phonenumbers
import pytest

from portal.demo import DEMO_PASSWORD, DemoExists, seed
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Group,
    Invoice,
    OrderStatus,
    Organisation,
    OrgKind,
    Person,
    Role,
    School,
    SmsOrder,
    SmsPackage,
    SmsStatus,
)
from portal.models.base import utcnow

DEMO_EMAILS = (
    "operator@sms-portalen.se",
    "admin@exempelkommun.se",
    "rektor@exempelkommun.se",
    "larare@exempelkommun.se",
    "elev@exempelkommun.se",
    "vardnadshavare@exempelkommun.se",
    "admin@friskolan.se",
)


@pytest.fixture
def demo(app):
    return seed()


def _all(model, *where):
    return db.session.scalars(db.select(model).where(*where)).all()


def _org(kind):
    return db.session.execute(db.select(Organisation).where(Organisation.kind == kind)).scalar_one()


def _person(email):
    return db.session.execute(db.select(Person).where(Person.email == email)).scalar_one()


def _counts():
    models = (Organisation, School, Group, Person, SmsOrder, SmsPackage, Invoice, AuditEvent)
    return {model.__name__: len(_all(model)) for model in models}


def test_cli_prints_every_demo_account_and_the_password(runner):
    result = runner.invoke(args=["seed-demo"])

    assert result.exit_code == 0, result.output
    for email in DEMO_EMAILS:
        assert email in result.output
    assert DEMO_PASSWORD in result.output


def test_seed_returns_the_login_accounts(demo):
    assert [account.email for account in demo] == list(DEMO_EMAILS)
    assert {account.password for account in demo} == {DEMO_PASSWORD}
    assert len(DEMO_PASSWORD) >= 10
    for account in demo:
        assert _person(account.email).password_hash


def test_only_the_login_accounts_have_a_password(demo):
    with_password = _all(Person, Person.password_hash.is_not(None))
    assert sorted(person.email for person in with_password) == sorted(DEMO_EMAILS)


def test_a_kommun_with_sms_and_a_friskola_without(demo):
    kommun, friskola = _org(OrgKind.KOMMUN), _org(OrgKind.FRISKOLA)

    assert len(_all(Organisation)) == 2
    assert kommun.name == "Exempelkommun"
    assert kommun.org_number.startswith("2")
    assert kommun.sms_status == SmsStatus.ACTIVE
    assert kommun.sms_activated_at < utcnow()
    assert kommun.invoice_address and kommun.invoice_reference
    assert friskola.name == "Friskolan Lärkan AB"
    assert friskola.org_number.startswith("5")
    assert friskola.sms_status == SmsStatus.INACTIVE
    assert friskola.sms_activated_at is None


def test_schools_and_groups(demo):
    kommun, friskola = _org(OrgKind.KOMMUN), _org(OrgKind.FRISKOLA)

    assert [school.name for school in kommun.schools] == ["Norrskolan", "Söderskolan"]
    assert len(friskola.schools) == 1
    assert len(friskola.schools[0].groups) >= 2
    kommun_groups = _all(Group, Group.organisation_id == kommun.id)
    assert len(kommun_groups) == 6
    assert {len(school.groups) for school in kommun.schools} == {3}


def test_students_each_in_one_class_with_guardians(demo):
    students = _all(Person, Person.role == Role.STUDENT)

    assert 140 <= len(students) <= 160
    assert all(len(student.groups) == 1 for student in students)
    assert sum(1 for student in students if not student.guardians) <= 3
    assert any(student.mobile for student in students)


def test_guardians_cover_the_awkward_cases(demo):
    guardians = _all(Person, Person.role == Role.GUARDIAN)
    students = _all(Person, Person.role == Role.STUDENT)

    with_siblings = [g for g in guardians if len(g.children) == 2]
    assert with_siblings
    assert all(
        a.groups[0] != b.groups[0] for a, b in (guardian.children for guardian in with_siblings)
    )
    assert any(
        len(mobiles := [g.mobile for g in student.guardians if g.mobile]) != len(set(mobiles))
        for student in students
    ), "no two guardians of one child share a number"
    assert any(guardian.mobile is None for guardian in guardians)
    never = [g for g in guardians if g.terms_accepted_at is None]
    assert never
    assert all(guardian.last_login_at is None for guardian in never)
    accepted = [g for g in guardians if g.terms_accepted_at is not None]
    assert len(accepted) > len(guardians) / 2
    assert all(g.last_login_at and g.terms_accepted_at <= g.last_login_at for g in accepted)
    assert any(person.protected_identity for person in guardians + students)


def test_mobiles_are_valid_e164_and_emails_lowercase(demo):
    people = _all(Person)

    for person in people:
        assert person.email == person.email.lower()
        if person.mobile:
            number = phonenumbers.parse(person.mobile)
            assert phonenumbers.is_valid_number(number), person.mobile
            assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE
            assert person.mobile == phonenumbers.format_number(
                number, phonenumbers.PhoneNumberFormat.E164
            )
            assert number.country_code == 46


def test_staff_principals_and_admins(demo):
    kommun = _org(OrgKind.KOMMUN)
    teachers = _all(Person, Person.role == Role.STAFF, Person.organisation_id == kommun.id)

    assert len(teachers) >= 4
    assert all(1 <= len(teacher.groups) <= 2 for teacher in teachers)
    assert all({g.school for g in teacher.groups} == set(teacher.schools) for teacher in teachers)
    for school in kommun.schools:
        principals = [p for p in school.staff if p.role == Role.PRINCIPAL]
        assert len(principals) == 1
        assert set(principals[0].groups) == set(school.groups)
    assert [s.name for s in _person("rektor@exempelkommun.se").schools] == ["Norrskolan"]
    assert _person("admin@exempelkommun.se").role == Role.ADMIN
    assert _person("admin@friskolan.se").organisation.name == "Friskolan Lärkan AB"
    operator = _person("operator@sms-portalen.se")
    assert operator.role == Role.OPERATOR
    assert operator.organisation is None


def test_demo_student_and_guardian_can_get_sms(demo):
    student = _person("elev@exempelkommun.se")
    guardian = _person("vardnadshavare@exempelkommun.se")

    assert student.role == Role.STUDENT
    assert guardian.role == Role.GUARDIAN
    assert student in guardian.children
    for person in (student, guardian):
        assert person.mobile
        assert person.terms_accepted_at is not None


def test_package_one_and_its_invoice_for_the_kommun_only(app, demo):
    kommun, friskola = _org(OrgKind.KOMMUN), _org(OrgKind.FRISKOLA)

    (package,) = _all(SmsPackage)
    assert package.organisation_id == kommun.id
    assert package.sequence == 1
    assert package.size == app.config["SMS_PACKAGE_SIZE"]
    assert package.used == 0
    (invoice,) = _all(Invoice)
    assert invoice.package_id == package.id
    assert invoice.organisation_id == kommun.id
    assert invoice.amount_ore == package.price_ore > 0
    assert invoice.number.startswith("F-")
    assert not _all(Invoice, Invoice.organisation_id == friskola.id)


def test_two_received_orders_from_other_organisations(demo):
    received = _all(SmsOrder, SmsOrder.status == OrderStatus.RECEIVED)
    own_numbers = {org.org_number for org in _all(Organisation)}

    assert len(received) == 2
    assert not {order.org_number for order in received} & own_numbers
    ages = sorted(utcnow() - order.created_at for order in received)
    assert ages[0] < timedelta(hours=20) < ages[1] < timedelta(hours=24)
    for order in received:
        assert order.number.startswith("SMS-")
        assert len(order.number) == len("SMS-2026-000001")
        assert order.token and order.contact_name and order.contact_email
        assert order.invoice_address and order.invoice_reference
        assert order.terms_accepted_at is not None


def test_seeding_is_audited(demo):
    assert [event.action for event in _all(AuditEvent)] == ["demo.seeded"]


def test_second_run_fails_and_changes_nothing(runner):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    before = _counts()

    result = runner.invoke(args=["seed-demo"])

    assert result.exit_code != 0
    assert "innehåller redan" in result.output
    db.session.rollback()  # read the database as it is now, not an earlier snapshot
    assert _counts() == before


def test_refuses_in_production(app, runner, monkeypatch):
    monkeypatch.setitem(app.config, "PORTAL_ENV", "production")

    result = runner.invoke(args=["seed-demo"])

    assert result.exit_code != 0
    assert "produktion" in result.output
    with pytest.raises(DemoExists):
        seed()
    assert not _all(Organisation)
    assert not _all(Person)


def test_demo_teacher_can_log_in(demo, auth, client):
    response = auth.login("larare@exempelkommun.se", DEMO_PASSWORD)

    assert response.status_code == 302
    assert "Lena" in client.get("/").get_data(as_text=True)
