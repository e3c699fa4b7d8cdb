"""The domain model, one module per domain; imported here so metadata is complete."""

from portal.models.attachments import Attachment
from portal.models.audit import AuditEvent
from portal.models.billing import Invoice, InvoiceStatus, PackagePrice, SmsPackage, UsageEntry
from portal.models.directory import (
    SENDING_ROLES,
    Group,
    PasswordToken,
    Person,
    Role,
    School,
    duties,
    group_memberships,
    guardianships,
)
from portal.models.messages import Channel, Message, MessageStatus, Recipient, RecipientStatus
from portal.models.orders import OrderStatus, SmsOrder
from portal.models.organisations import Organisation, OrgKind, SmsStatus

__all__ = [
    "SENDING_ROLES",
    "Attachment",
    "AuditEvent",
    "Channel",
    "Group",
    "Invoice",
    "InvoiceStatus",
    "Message",
    "MessageStatus",
    "OrderStatus",
    "OrgKind",
    "Organisation",
    "PackagePrice",
    "PasswordToken",
    "Person",
    "Recipient",
    "RecipientStatus",
    "Role",
    "School",
    "SmsOrder",
    "SmsPackage",
    "SmsStatus",
    "UsageEntry",
    "duties",
    "group_memberships",
    "guardianships",
]
