"""Resolving a selection: recipients per channel, and one reason for everyone left out."""

import pytest

from portal.extensions import db
from portal.models import Channel, Message, Recipient, RecipientStatus, Role
from portal.recipients import (
    LeftOut,
    Reason,
    Selection,
    display_mobile,
    display_name,
    freeze,
    parse_selection,
    resolve,
    snapshot,
    summarise,
)
from portal.recipients.frozen import empty_list, expand
from portal.recipients.selection import GroupRole
from tests.directory_builders import Directory

BOTH = (Channel.EMAIL, Channel.SMS)


@pytest.fixture
def d(make):
    return Directory(make)


@pytest.fixture
def school(d):
    return d.school("Norrskolan")


@pytest.fixture
def klass(d, school):
    return d.group(school, "7A")


@pytest.fixture
def teacher(d, school, klass):
    return d.staff(school, klass)


def students(group):
    return Selection(groups=frozenset({(group.id, GroupRole.STUDENTS)}))


def everyone_in(group):
    return parse_selection(
        [(f"group-{group.id}", role) for role in ("students", "guardians", "staff")]
    )


def ids(targets):
    return [target.person_id for target in targets]


def left_out(resolution, channel):
    return {entry.person_id: entry.reason for entry in resolution[channel].left_out}


@pytest.mark.parametrize(
    ("fields", "email_reason", "sms_reason"),
    [
        ({"active": False}, Reason.INACTIVE, Reason.INACTIVE),
        ({"terms_accepted_at": None}, Reason.TERMS_NOT_ACCEPTED, Reason.TERMS_NOT_ACCEPTED),
        ({"mobile": None}, None, Reason.NO_MOBILE),
        ({"mobile": None, "mobile_rejected": "08-123 456 78"}, None, Reason.INVALID_MOBILE),
        ({"email": None}, Reason.NO_EMAIL, None),
    ],
    ids=["inactive", "terms", "no-mobile", "invalid-mobile", "no-email"],
)
def test_each_reason_leaves_the_person_out_of_the_channel(
    d, klass, teacher, fields, email_reason, sms_reason
):
    reached = d.student(klass)
    person = d.student(klass, **fields)

    resolution = resolve(students(klass), teacher, BOTH)

    for channel, reason in ((Channel.EMAIL, email_reason), (Channel.SMS, sms_reason)):
        expected_out = {person.id: reason} if reason else {}
        assert left_out(resolution, channel) == expected_out
        expected_in = [reached.id] if reason else [reached.id, person.id]
        assert ids(resolution[channel].recipients) == expected_in
        assert summarise(students(klass), teacher, BOTH)[channel].left_out == dict.fromkeys(
            expected_out.values(), 1
        )


def test_duplicate_number_is_sent_once_to_the_first_holder(d, klass, teacher):
    child = d.student(klass, mobile=None)
    mother = d.guardian(child, given_name="Anna", family_name="Berg")
    father = d.guardian(child, mobile=mother.mobile)
    selection = parse_selection([(f"group-{klass.id}", "guardians")])

    resolution = resolve(selection, teacher, BOTH)

    assert resolution[Channel.SMS].recipients[0].address == mother.mobile
    assert ids(resolution[Channel.SMS].recipients) == [mother.id]
    (entry,) = resolution[Channel.SMS].left_out
    assert entry == LeftOut(
        father.id, Reason.DUPLICATE_NUMBER, display_name(father), mother.id, "Anna Berg"
    )
    assert entry.describe() == "Samma mobilnummer som Anna Berg"
    assert ids(resolution[Channel.EMAIL].recipients) == [mother.id, father.id]
    summary = summarise(selection, teacher, BOTH)
    assert summary[Channel.SMS].recipients == 1
    assert summary[Channel.SMS].left_out == {Reason.DUPLICATE_NUMBER: 1}


def test_a_shared_number_goes_to_whoever_of_them_may_get_sms(d, klass, teacher):
    first = d.student(klass, terms_accepted_at=None)
    second = d.student(klass, mobile=first.mobile)

    resolution = resolve(students(klass), teacher, [Channel.SMS])

    assert ids(resolution[Channel.SMS].recipients) == [second.id]
    assert left_out(resolution, Channel.SMS) == {first.id: Reason.TERMS_NOT_ACCEPTED}


def test_a_guardian_of_two_children_in_the_class_gets_one_sms_and_one_email(d, klass, teacher):
    guardian = d.guardian(d.student(klass), d.student(klass))
    selection = parse_selection([(f"group-{klass.id}", "guardians")])

    resolution = resolve(selection, teacher, BOTH)

    assert resolution.people == 1
    assert ids(resolution[Channel.SMS].recipients) == [guardian.id]
    assert ids(resolution[Channel.EMAIL].recipients) == [guardian.id]
    assert resolution[Channel.SMS].left_out == ()
    assert summarise(selection, teacher, BOTH) == resolution.summary()


def test_the_first_reason_that_applies_is_the_only_one(d, klass, teacher):
    gone = d.student(klass, active=False, terms_accepted_at=None, mobile=None, email=None)
    never = d.student(klass, terms_accepted_at=None, mobile=None, mobile_rejected="123")

    resolution = resolve(students(klass), teacher, BOTH)

    assert left_out(resolution, Channel.SMS) == {
        gone.id: Reason.INACTIVE,
        never.id: Reason.TERMS_NOT_ACCEPTED,
    }
    assert left_out(resolution, Channel.EMAIL) == left_out(resolution, Channel.SMS)


def test_roles_within_a_group(d, school, klass):
    other = d.group(school, "7B")
    principal = d.principal(school, klass)
    teacher = d.staff(school, klass)
    d.staff(school, other)
    child = d.student(klass)
    d.student(other)
    guardian = d.guardian(child)
    d.guardian(d.student(klass, active=False))  # guardians of inactive students are not reached
    d.guardian(d.student(other))

    def reached(role):
        selection = parse_selection([(f"group-{klass.id}", role)])
        return set(ids(resolve(selection, principal, [Channel.EMAIL])[Channel.EMAIL].recipients))

    assert reached("students") == {child.id}
    assert reached("guardians") == {guardian.id}
    assert reached("staff") == {principal.id, teacher.id}


def test_school_and_organisation_wide_roles(d, make, school, klass):
    admin = d.admin()
    other_school = d.school("Söderskolan")
    teacher = d.staff(school)
    principal = d.principal(school)
    elsewhere = d.staff(other_school)
    d.student(klass)
    Directory(make).admin()  # another organisation's admin

    def reached(*pairs):
        result = resolve(parse_selection(pairs), admin, [Channel.EMAIL])
        return set(ids(result[Channel.EMAIL].recipients))

    assert reached((f"school-{school.id}", "staff")) == {teacher.id}
    assert reached((f"school-{school.id}", "principals")) == {principal.id}
    assert reached(("org", "staff")) == {teacher.id, elsewhere.id}
    assert reached(("org", "principals")) == {principal.id}
    assert reached(("org", "admins")) == {admin.id}


def test_summary_matches_the_full_resolution(d, school, klass, teacher):
    for fields in (
        {},
        {},
        {"active": False},
        {"terms_accepted_at": None},
        {"mobile": None},
        {"mobile": None, "mobile_rejected": "0812345678"},
        {"email": None},
    ):
        child = d.student(klass, **fields)
        d.guardian(child)
        d.guardian(child, mobile=None)
    sibling = d.student(d.group(school, "8A"))
    d.guardian(sibling, d.student(klass))
    selection = everyone_in(klass)

    summary = summarise(selection, teacher, BOTH)

    assert summary == resolve(selection, teacher, BOTH).summary()
    # 8 students; 2 guardians each but none for the inactive one, 1 shared with 8A; 1 teacher
    assert summary.people == 8 + (2 * 6 + 1) + 1
    sms = summary[Channel.SMS]
    assert sms.recipients + sms.left_out_total == summary.people
    assert list(sms.left_out) == [
        Reason.INACTIVE,
        Reason.TERMS_NOT_ACCEPTED,
        Reason.INVALID_MOBILE,
        Reason.NO_MOBILE,
    ]


def test_one_channel_or_an_empty_selection(d, klass, teacher):
    d.student(klass)
    assert list(summarise(students(klass), teacher, [Channel.EMAIL]).channels) == [Channel.EMAIL]
    empty = summarise(Selection(), teacher, BOTH)
    assert (empty.people, empty[Channel.SMS].recipients, empty[Channel.SMS].left_out) == (0, 0, {})
    assert resolve(Selection(), teacher, BOTH)[Channel.EMAIL].recipients == ()


def test_recipient_rows_for_the_frozen_list(d, klass, teacher):
    child = d.student(klass, email=None)
    rows = resolve(students(klass), teacher, BOTH).recipient_rows(message_id=5)
    assert rows == [
        {"message_id": 5, "person_id": child.id, "channel": Channel.SMS, "address": child.mobile}
    ]


def test_protected_identity_is_reached_but_never_rendered(d, klass, teacher):
    secret = d.student(
        klass,
        given_name="Hemliga",
        family_name="Personsson",
        email="hemlig@example.se",
        protected_identity=True,
    )
    twin = d.student(klass, mobile=secret.mobile, given_name="Öppen")
    hidden_out = d.student(
        klass, given_name="Gömda", family_name="Gömdsson", protected_identity=True, mobile=None
    )
    d.guardian(secret)

    resolution = resolve(everyone_in(klass), teacher, BOTH)

    assert secret.id in ids(resolution[Channel.SMS].recipients)
    assert secret.id in ids(resolution[Channel.EMAIL].recipients)
    by_person = {entry.person_id: entry for entry in resolution[Channel.SMS].left_out}
    assert by_person[twin.id].same_as_name == "Skyddad identitet"
    assert by_person[twin.id].describe() == "Samma mobilnummer som Skyddad identitet"
    assert by_person[hidden_out.id].name == "Skyddad identitet"
    rendered = " ".join(
        [
            repr(resolution),
            str(resolution),
            repr(resolution.summary()),
            *(entry.describe() for entry in resolution[Channel.SMS].left_out),
            display_name(secret),
            display_mobile(secret),
        ]
    )
    for revealing in ("Hemliga", "Personsson", "Gömda", "Gömdsson", "hemlig@", secret.mobile[3:]):
        assert revealing not in rendered
    assert display_name(secret) == "Skyddad identitet"
    assert display_mobile(secret) == "Dolt nummer"


def test_display_helpers_for_people_without_protection(d, klass):
    person = d.student(klass, given_name="Åsa", family_name="Öberg", mobile="+46701740699")
    assert display_name(person) == "Åsa Öberg"
    assert display_mobile(person) == "070-174 06 99"
    assert display_mobile(d.student(klass, mobile=None, mobile_rejected="08-1234")) == "08-1234"
    assert display_mobile(d.student(klass, mobile=None)) == ""


def test_people_outside_the_organisation_are_never_reached(d, make, klass, teacher):
    stranger = Directory(make).person(Role.STUDENT)
    stranger.groups.append(klass)  # a damaged directory: a member from elsewhere
    db.session.commit()
    d.student(klass)

    resolution = resolve(students(klass), teacher, BOTH)

    assert stranger.id not in ids(resolution[Channel.EMAIL].recipients)
    assert resolution.people == 1


def mixed_class(d, klass):
    """Someone left out on each channel, and two guardians sharing a number."""
    mother = d.guardian(d.student(klass, email=None), d.student(klass, mobile=None))
    d.guardian(d.student(klass), mobile=mother.mobile)
    d.student(klass, terms_accepted_at=None)
    d.student(klass, active=False)


def new_message(teacher):
    message = Message(organisation_id=teacher.organisation_id, author_id=teacher.id, subject="Hej")
    db.session.add(message)
    db.session.commit()
    return message


def frozen_rows(message):
    return db.session.execute(
        db.select(Recipient.channel, Recipient.person_id, Recipient.address, Recipient.status)
        .where(Recipient.message_id == message.id)
        .order_by(Recipient.channel, Recipient.person_id)
    ).all()


def test_freeze_and_expand_give_exactly_the_resolved_recipients(d, klass, teacher):
    mixed_class(d, klass)
    message = new_message(teacher)
    selection = everyone_in(klass)

    counts = freeze(selection, teacher, BOTH, message.id)
    db.session.commit()
    assert frozen_rows(message) == []  # frozen on the message until its dispatch
    assert expand(message.id) == sum(counts.values())
    db.session.commit()

    expected = resolve(selection, teacher, BOTH)
    assert frozen_rows(message) == sorted(
        (channel, target.person_id, target.address, RecipientStatus.PENDING)
        for channel in BOTH
        for target in expected[channel].recipients
    )
    assert counts == {c: len(expected[c].recipients) for c in BOTH}
    assert counts[Channel.SMS] == summarise(selection, teacher, BOTH)[Channel.SMS].recipients


def test_expanding_twice_inserts_once(d, klass, teacher):
    mixed_class(d, klass)
    message = new_message(teacher)
    counts = freeze(everyone_in(klass), teacher, BOTH, message.id)
    db.session.commit()

    assert expand(message.id) == sum(counts.values())
    assert expand(message.id) == 0
    db.session.commit()
    assert len(frozen_rows(message)) == sum(counts.values())
    assert db.session.scalar(db.select(Message.frozen_recipients).filter_by(id=message.id)) is None


def test_addresses_are_frozen_as_given_whatever_they_hold(d, klass, teacher):
    """The database writes the JSON, so quotes, backslashes and non-ASCII survive."""
    student = d.student(klass, email="o'\"\\brien.åäö@example.se")
    message = new_message(teacher)
    freeze(everyone_in(klass), teacher, (Channel.EMAIL,), message.id)
    expand(message.id)
    db.session.commit()
    row = (Channel.EMAIL, student.id, "o'\"\\brien.åäö@example.se", RecipientStatus.PENDING)
    assert row in frozen_rows(message)


@pytest.mark.parametrize("channels", [BOTH, (Channel.EMAIL,)], ids=["both", "email"])
def test_a_snapshot_counts_what_it_freezes(d, klass, teacher, channels):
    """One reading gives the confirmation's numbers and the frozen list."""
    mixed_class(d, klass)
    message = new_message(teacher)
    selection = everyone_in(klass)

    taken = snapshot(selection, teacher, channels)
    assert taken.summary == summarise(selection, teacher, channels)
    message.frozen_recipients = taken.frozen
    db.session.commit()
    expand(message.id)

    expected = resolve(selection, teacher, channels)
    assert sorted(row[:2] for row in frozen_rows(message)) == sorted(
        (c, target.person_id) for c in channels for target in expected[c].recipients
    )


def test_an_empty_snapshot_freezes_nothing(teacher):
    taken = snapshot(Selection(), teacher, BOTH)
    assert taken.summary.people == 0
    assert taken.frozen == empty_list()
