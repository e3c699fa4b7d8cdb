"""The school directory: schools, groups, people, memberships and guardianships."""

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from portal.extensions import db
from portal.models.base import UTCDateTime, enum_column, utcnow


class Role(StrEnum):
    OPERATOR = "operator"
    ADMIN = "admin"
    PRINCIPAL = "principal"
    STAFF = "staff"
    STUDENT = "student"
    GUARDIAN = "guardian"


SENDING_ROLES = (Role.ADMIN, Role.PRINCIPAL, Role.STAFF)


class School(db.Model):
    __tablename__ = "schools"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str | None] = mapped_column(String(100))

    organisation: Mapped["Organisation"] = relationship(back_populates="schools")  # noqa: F821
    groups: Mapped[list["Group"]] = relationship(back_populates="school", order_by="Group.name")
    staff: Mapped[list["Person"]] = relationship(secondary="duties", back_populates="schools")


group_memberships = Table(
    "group_memberships",
    db.metadata,
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column("person_id", ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_group_memberships_person_id", "person_id"),
)

# Staff and principals work at schools (an SS 12000 "duty" at a school unit).
duties = Table(
    "duties",
    db.metadata,
    Column("person_id", ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
    Column("school_id", ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_duties_school_id", "school_id"),
)
guardianships = Table(
    "guardianships",
    db.metadata,
    Column("guardian_id", ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
    Column("student_id", ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
    CheckConstraint("guardian_id <> student_id", name="not_self"),
    Index("ix_guardianships_student_id", "student_id"),
)


class Group(db.Model):
    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("school_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str | None] = mapped_column(String(100))

    organisation: Mapped["Organisation"] = relationship()  # noqa: F821
    school: Mapped[School] = relationship(back_populates="groups")
    members: Mapped[list["Person"]] = relationship(
        secondary=group_memberships, back_populates="groups"
    )


class PasswordToken(db.Model):
    """A single-use, time-limited link to set a password (invitations, resets).

    Only a hash of the token is stored; the link in the e-mail carries the token.
    """

    __tablename__ = "password_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class Person(UserMixin, db.Model):
    """Anyone the portal knows: operators, organisation staff, students and guardians.

    Operators belong to no organisation; everyone else belongs to exactly one.
    """

    __tablename__ = "people"
    __table_args__ = (
        UniqueConstraint("organisation_id", "external_id"),
        CheckConstraint(
            "(role = 'operator') = (organisation_id IS NULL)", name="operator_has_no_org"
        ),
        CheckConstraint("mobile IS NULL OR mobile LIKE '+%'", name="mobile_e164"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    external_id: Mapped[str | None] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    mobile: Mapped[str | None] = mapped_column(String(16))
    # A number we were given that is not a valid mobile: kept to report it, never texted.
    mobile_rejected: Mapped[str | None] = mapped_column(String(50))
    terms_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    protected_identity: Mapped[bool] = mapped_column(Boolean, default=False)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Part of the signed-in session; bumped at logout so an old session cookie stops working.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organisation: Mapped["Organisation | None"] = relationship()  # noqa: F821
    groups: Mapped[list[Group]] = relationship(
        secondary=group_memberships, back_populates="members"
    )
    schools: Mapped[list[School]] = relationship(secondary=duties, back_populates="staff")
    children: Mapped[list["Person"]] = relationship(
        secondary=guardianships,
        primaryjoin="Person.id == guardianships.c.guardian_id",
        secondaryjoin="Person.id == guardianships.c.student_id",
        back_populates="guardians",
    )
    guardians: Mapped[list["Person"]] = relationship(
        secondary=guardianships,
        primaryjoin="Person.id == guardianships.c.student_id",
        secondaryjoin="Person.id == guardianships.c.guardian_id",
        back_populates="children",
    )

    @validates("email")
    def _normalise_email(self, _key, email):
        return email.strip().lower() if email else None

    @property
    def is_active(self):
        return self.active

    def get_id(self):
        """The session's user id: the person and their session version ('42.3')."""
        return f"{self.id}.{self.session_version or 0}"

    @property
    def full_name(self):
        return f"{self.given_name} {self.family_name}"

    @property
    def may_send(self):
        return self.role in SENDING_ROLES

    def __repr__(self):
        return f"<Person {self.id} {self.role}>"
