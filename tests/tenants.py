"""Organisations with a full set of data, for tests that prove one tenant cannot reach
another's: people of every role, a school and group, a sent message with recipients and
an image, a package with its invoice and ledger, an order, an invitation link and audit
events. Every name and number is unique, so a page that shows any of them leaks it."""

import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from portal.billing.packages import open_package
from portal.billing.prices import current_price, set_price
from portal.database import write_transaction
from portal.extensions import db
from portal.models import (
    Attachment,
    AuditEvent,
    Channel,
    Message,
    MessageStatus,
    OrderStatus,
    OrgKind,
    PasswordToken,
    Recipient,
    RecipientStatus,
    Role,
    SmsOrder,
    UsageEntry,
)
from portal.models.base import utcnow
from portal.people.invitations import token_hash

ORG_ROLES = (Role.ADMIN, Role.PRINCIPAL, Role.STAFF, Role.STUDENT, Role.GUARDIAN)


@dataclass
class Tenant:
    organisation: object
    people: dict
    message: object
    invoice: object
    order: object
    attachment: object
    link_secret: str
    secrets: list = field(default_factory=list)

    def person(self, role):
        return self.people[role]


def make_message(author, *, status=MessageStatus.DONE, subject="Utflykt", recipients=(), **fields):
    """A message by `author` with (person, channel, status, address) recipients."""
    message = Message(
        organisation_id=author.organisation_id,
        author_id=author.id,
        subject=subject,
        body=fields.pop("body", ""),
        send_sms=True,
        status=status,
        **fields,
    )
    db.session.add(message)
    db.session.flush()
    for person, channel, recipient_status, address in recipients:
        db.session.add(
            Recipient(
                message_id=message.id,
                person_id=person.id,
                channel=channel,
                status=recipient_status,
                address=address,
                parts=1 if channel == Channel.SMS else None,
                provider_id=f"s{secrets.token_hex(8)}" if channel == Channel.SMS else None,
            )
        )
    db.session.commit()
    return message


def make_tenant(make, operator, label, serial):
    """An organisation called `label` with everything a tenant has; `serial` keeps numbers apart."""
    organisation = make.org(name=f"{label} kommun", kind=OrgKind.KOMMUN)
    school = make.school(organisation, name=f"{label}skolan")
    group = make.group(school, name=f"Klass {label}")
    people = {}
    for n, role in enumerate(ORG_ROLES):
        people[role] = make.person(
            role,
            organisation,
            given_name=f"{label}{role.value.capitalize()}",
            family_name=f"Efter{label}",
            email=f"{role.value}.{label.lower()}@{label.lower()}.example.se",
            mobile=f"+4670{serial}17{n:04d}",
        )
    staff, student, guardian = (people[r] for r in (Role.STAFF, Role.STUDENT, Role.GUARDIAN))
    group.members.extend([staff, student])
    staff.schools.append(school)
    people[Role.PRINCIPAL].schools.append(school)
    guardian.children.append(student)
    db.session.commit()

    message = make_message(
        staff,
        subject=f"Hemligt meddelande från {label}",
        body=f"Brödtext {label}",
        sent_at=utcnow(),
        recipients=[
            (guardian, Channel.SMS, RecipientStatus.DELIVERED, guardian.mobile),
            (student, Channel.EMAIL, RecipientStatus.SENT, student.email),
        ],
    )
    attachment = Attachment(
        organisation_id=organisation.id,
        uploaded_by_id=staff.id,
        message_id=message.id,
        token=secrets.token_urlsafe(24),
        filename=f"bild-{label.lower()}.png",
        content_type="image/png",
        size=4,
        data=b"\x89PNG",
    )
    db.session.add(attachment)

    if current_price() is None:
        set_price(450_000, operator)
    with write_transaction():
        package = open_package(organisation, by=operator)
        db.session.add(
            UsageEntry(
                organisation_id=organisation.id,
                package_id=package.id,
                message_id=message.id,
                units=1,
            )
        )
    order = SmsOrder(
        number=f"SMS-2026-9{serial}0001",
        token=secrets.token_urlsafe(32),
        status=OrderStatus.RECEIVED,
        org_kind=OrgKind.KOMMUN,
        org_name=organisation.name,
        org_number=organisation.org_number,
        contact_name=f"Kontakt{label}",
        contact_email=f"kontakt@{label.lower()}.example.se",
        contact_phone=f"+46701{serial}55555",
        invoice_address=f"Box {serial}, {label}",
        invoice_reference=f"Ref{label}",
        terms_accepted_at=utcnow() - timedelta(hours=2),
        created_at=utcnow() - timedelta(hours=2),
    )
    db.session.add(order)
    link_secret = secrets.token_urlsafe(32)
    db.session.add(
        PasswordToken(
            person_id=people[Role.GUARDIAN].id,
            token_hash=token_hash(link_secret),
            expires_at=utcnow() + timedelta(hours=72),
            created_by_id=people[Role.ADMIN].id,
        )
    )
    db.session.add(
        AuditEvent(
            action="sms.activated",
            actor_id=people[Role.ADMIN].id,
            organisation_id=organisation.id,
            details={"reason": f"Anledning {label}"},
        )
    )
    db.session.commit()
    invoice = package.invoice
    tenant = Tenant(organisation, people, message, invoice, order, attachment, link_secret)
    tenant.secrets = [
        organisation.name,
        organisation.org_number,
        school.name,
        group.name,
        message.subject,
        message.body,
        attachment.filename,
        invoice.number,
        order.number,
        order.contact_name,
        f"Anledning {label}",
        *(person.given_name for person in people.values()),
        *(person.email for person in people.values()),
        *(person.mobile for person in people.values()),
        *(national(person.mobile) for person in people.values()),
    ]
    return tenant


def national(e164):
    """'+46701712003' as a Swedish page shows it: '070-171 20 03'."""
    digits = "0" + e164.removeprefix("+46")
    return f"{digits[:3]}-{digits[3:6]} {digits[6:8]} {digits[8:]}"
