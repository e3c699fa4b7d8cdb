"""Who a selection reaches on each channel, and who is left out and why (issue #5, point 3).

Everyone in the selection is counted once, however many times the selection
reaches them (a guardian of two children in the class gets one message). Each
person left out of a channel has exactly one reason, the first that applies:

1. `inactive` — no longer in the directory;
2. `terms_not_accepted` — never logged in and accepted the terms (nobody else is reached);
3. e-mail: `no_email`; SMS: `invalid_mobile` (we were given a number that cannot take
   SMS) or `no_mobile` (no number at all);
4. SMS: `duplicate_number` — the same mobile as another recipient of the message: one
   SMS per number, sent to the person with the lowest id ("the first"), whom the
   left-out entry names (as "Skyddad identitet" if protected).

Guardians are reached through the group's active students. Every function checks the
sender's reach first (`SelectionOutOfReach`, a 404) and works in set-based SQL: the
selection's parts are joined over the association tables and UNIONed (distinct), then
`summarise` counts per reason in one aggregate query (what the confirmation shows),
`resolve` returns the recipients with addresses and everyone left out with a name safe
to show (one query, a window for the duplicate numbers), and `snapshot` reads the
selection once for both the counts and a message's frozen recipients (one statement;
what confirming a send does, see `freeze` and portal/recipients/frozen.py).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    null,
    select,
    union,
    union_all,
    update,
)

from portal.extensions import db
from portal.models import (
    Channel,
    Message,
    Person,
    Role,
    duties,
    group_memberships,
    guardianships,
)
from portal.recipients.frozen import as_list, empty_list
from portal.recipients.permissions import check_reach
from portal.recipients.privacy import loggable_address, name_for
from portal.recipients.selection import GroupRole, ScopeRole, Selection


class Reason(StrEnum):
    INACTIVE = "inactive"
    TERMS_NOT_ACCEPTED = "terms_not_accepted"
    NO_EMAIL = "no_email"
    INVALID_MOBILE = "invalid_mobile"
    NO_MOBILE = "no_mobile"
    DUPLICATE_NUMBER = "duplicate_number"


REASONS = {  # in order of precedence
    Channel.EMAIL: (Reason.INACTIVE, Reason.TERMS_NOT_ACCEPTED, Reason.NO_EMAIL),
    Channel.SMS: (
        Reason.INACTIVE,
        Reason.TERMS_NOT_ACCEPTED,
        Reason.INVALID_MOBILE,
        Reason.NO_MOBILE,
        Reason.DUPLICATE_NUMBER,
    ),
}
REASON_LABELS = {
    Reason.INACTIVE: _l("Inaktiv i katalogen"),
    Reason.TERMS_NOT_ACCEPTED: _l("Har inte loggat in och godkänt villkoren"),
    Reason.NO_EMAIL: _l("Saknar e-postadress"),
    Reason.INVALID_MOBILE: _l("Ogiltigt mobilnummer"),
    Reason.NO_MOBILE: _l("Saknar mobilnummer"),
    Reason.DUPLICATE_NUMBER: _l("Samma mobilnummer som en annan mottagare"),
}

_COUNTED = set(Reason) - {Reason.DUPLICATE_NUMBER}
_BASE_COLUMN = {Channel.EMAIL: "email_base", Channel.SMS: "sms_base"}
_ADDRESS_COLUMN = {Channel.EMAIL: "email", Channel.SMS: "mobile"}
_ROLES = {
    ScopeRole.STAFF: Role.STAFF,
    ScopeRole.PRINCIPALS: Role.PRINCIPAL,
    ScopeRole.ADMINS: Role.ADMIN,
}
_people = Person.__table__


class Target(NamedTuple):
    """One recipient on one channel: the person and the address to send to."""

    person_id: int
    address: str
    protected: bool = False

    def __repr__(self):
        return f"<Target person={self.person_id} {loggable_address(self.address, self.protected)}>"


class LeftOut(NamedTuple):
    """A person the channel does not reach; `name` is already safe to show."""

    person_id: int
    reason: Reason
    name: str
    same_as: int | None = None
    same_as_name: str | None = None

    def describe(self) -> str:
        if self.reason == Reason.DUPLICATE_NUMBER:
            return _("Samma mobilnummer som %(name)s", name=self.same_as_name)
        return str(REASON_LABELS[self.reason])


@dataclass(frozen=True)
class ChannelSummary:
    channel: Channel
    recipients: int
    left_out: Mapping[Reason, int]  # only reasons that occur, in order of precedence

    @property
    def left_out_total(self) -> int:
        return sum(self.left_out.values())


@dataclass(frozen=True)
class Summary:
    """Counts for the confirmation; equal summaries mean the directory gives the same numbers."""

    people: int  # distinct people in the selection
    channels: Mapping[Channel, ChannelSummary]

    def __getitem__(self, channel: Channel) -> ChannelSummary:
        return self.channels[channel]


@dataclass(frozen=True)
class ChannelRecipients:
    channel: Channel
    recipients: tuple[Target, ...]  # by person id
    left_out: tuple[LeftOut, ...]  # by person id

    def summary(self) -> ChannelSummary:
        counts = dict.fromkeys(REASONS[self.channel], 0)
        for entry in self.left_out:
            counts[entry.reason] += 1
        return ChannelSummary(
            self.channel, len(self.recipients), {r: n for r, n in counts.items() if n}
        )


@dataclass(frozen=True)
class Resolution:
    people: int
    channels: Mapping[Channel, ChannelRecipients]

    def __getitem__(self, channel: Channel) -> ChannelRecipients:
        return self.channels[channel]

    def summary(self) -> Summary:
        return Summary(self.people, {c: r.summary() for c, r in self.channels.items()})

    def recipient_rows(self, message_id: int) -> list[dict]:
        """Rows for a bulk insert into `recipients`, one per person and channel."""
        return [
            {"message_id": message_id, "person_id": t.person_id, "channel": c, "address": t.address}
            for c, result in self.channels.items()
            for t in result.recipients
        ]


def summarise(selection: Selection, sender, channels: Iterable[Channel]) -> Summary:
    """How many each channel reaches and how many it leaves out, by reason: one aggregate
    query over the selected people (see `_tally`)."""
    channels = _channels(channels)
    check_reach(selection, sender)
    if not selection:
        return _nobody(channels)

    def fields(table):
        reasons = _base_reasons(table.c)
        return [table.c.id, table.c.mobile, *(reasons[channel] for channel in channels)]

    return _tally(_selected_people(selection, sender.organisation_id, fields).c, channels)


def _nobody(channels) -> Summary:
    return Summary(0, {c: ChannelSummary(c, 0, {}) for c in channels})


def _tally(people, channels) -> Summary:
    """The Summary of `people` (columns id, mobile and each channel's base reason)."""
    columns = _tally_columns(people, channels)
    query = select(*(column.label(f"c{n}") for n, column in enumerate(columns.values())))
    return _summary(dict(zip(columns, db.session.execute(query).one(), strict=True)), channels)


def _tally_columns(people, channels) -> dict:
    """Named aggregates over `people`: a count per reason, and for SMS the number of
    distinct mobile numbers among those who may get SMS (the others holding one of those
    numbers are the duplicates)."""
    columns = {"people": func.count()}
    for channel in channels:
        reason = people[_BASE_COLUMN[channel]]
        for value in REASONS[channel]:
            if value in _COUNTED:
                columns[f"{channel}:{value}"] = func.count(case((reason == value.value, 1)))
    if Channel.SMS in channels:
        may_get_sms = people.sms_base.is_(None)
        columns["numbers"] = func.count(case((may_get_sms, people.mobile)).distinct())
    return columns


def _summary(counts, channels) -> Summary:
    summaries = {}
    for channel in channels:
        left_out = {r: counts[f"{channel}:{r}"] for r in REASONS[channel] if r in _COUNTED}
        reached = counts["people"] - sum(left_out.values())
        if channel == Channel.SMS:
            left_out[Reason.DUPLICATE_NUMBER] = reached - counts["numbers"]
            reached = counts["numbers"]
        summaries[channel] = ChannelSummary(
            channel, reached, {r: n for r, n in left_out.items() if n}
        )
    return Summary(counts["people"], summaries)


def resolve(selection: Selection, sender, channels: Iterable[Channel]) -> Resolution:
    """The recipients of each channel with their addresses, and everyone left out."""
    channels = _channels(channels)
    check_reach(selection, sender)
    if not selection:
        return Resolution(0, {c: ChannelRecipients(c, (), ()) for c in channels})
    rows = _reasons(selection, sender.organisation_id, channels)
    result = db.session.execute(select(rows).order_by(rows.c.id)).all()
    by_id = {row.id: row for row in result}

    def name(person_id):
        row = by_id[person_id]
        return name_for(row.given_name, row.family_name, row.protected)

    by_channel = {}
    for channel in channels:
        reason_at = rows.c.keys().index(_reason_column(channel))
        address_at = rows.c.keys().index(_ADDRESS_COLUMN[channel])
        recipients, left_out = [], []
        for row in result:
            reason = row[reason_at]
            if reason is None:
                recipients.append(Target(row[0], row[address_at], row.protected))
            elif reason == Reason.DUPLICATE_NUMBER:
                first = row.first_holder
                left_out.append(LeftOut(row[0], Reason(reason), name(row[0]), first, name(first)))
            else:
                left_out.append(LeftOut(row[0], Reason(reason), name(row[0])))
        by_channel[channel] = ChannelRecipients(channel, tuple(recipients), tuple(left_out))
    return Resolution(len(result), by_channel)


@dataclass(frozen=True)
class Snapshot:
    """The selected people read once: `summary` is what they give now, and `frozen`
    exactly those recipients as a message keeps them until its dispatch (JSON, see
    portal/recipients/frozen.py)."""

    summary: Summary
    frozen: str


def snapshot(selection: Selection, sender, channels: Iterable[Channel]) -> Snapshot:
    """Read the people `selection` reaches once, for counting and freezing
    (SelectionOutOfReach: 404): one statement gives both the counts and the list (a
    materialised CTE that the aggregates share)."""
    channels = _channels(channels)
    check_reach(selection, sender)
    if not selection:
        return Snapshot(_nobody(channels), empty_list())
    people = _base(selection, sender.organisation_id, names=False, cte=True)
    counts = _tally_columns(people.c, channels)
    frozen = select(as_list(_frozen_rows(people.c, channels).c)).scalar_subquery()
    labelled = [column.label(f"c{n}") for n, column in enumerate(counts.values())]
    *values, listed = db.session.execute(select(*labelled, frozen.label("frozen"))).one()
    summary = _summary(dict(zip(counts, values, strict=True)), channels)
    return Snapshot(summary, listed or empty_list())


def _frozen_rows(people, channels):
    """A subquery of each channel's recipients among `people`: person_id, channel,
    address. SMS goes once per number, to the lowest person id holding it (the
    `duplicate_number` rule)."""
    parts = []
    for channel in channels:
        address = people[_ADDRESS_COLUMN[channel]]
        person_id = func.min(people.id) if channel == Channel.SMS else people.id
        part = select(
            person_id.label("person_id"),
            cast(literal(channel.value), String).label("channel"),
            address.label("address"),
        ).where(people[_BASE_COLUMN[channel]].is_(None))
        parts.append(part.group_by(address) if channel == Channel.SMS else part)
    return union_all(*parts).subquery("recipients")


def freeze(selection: Selection, sender, channels: Iterable[Channel], message_id: int):
    """Freeze the recipients of each channel on message `message_id` (its frozen list, in
    the caller's transaction); returns the count per channel."""
    taken = snapshot(selection, sender, channels)
    db.session.execute(
        update(Message).where(Message.id == message_id).values(frozen_recipients=taken.frozen)
    )
    return {channel: taken.summary[channel].recipients for channel in taken.summary.channels}


def _channels(channels) -> tuple[Channel, ...]:
    return tuple(dict.fromkeys(Channel(channel) for channel in channels))


def _reason_column(channel):
    return f"{channel.value}_reason"


def _conditions(people):
    """Per channel, (reason, the condition for it on `people`' columns) in order of
    precedence; duplicate numbers, which depend on the other recipients, are found apart."""
    common = [
        (Reason.INACTIVE, people.active.is_(False)),
        (Reason.TERMS_NOT_ACCEPTED, people.terms_accepted_at.is_(None)),
    ]
    return {
        Channel.EMAIL: [*common, (Reason.NO_EMAIL, people.email.is_(None))],
        Channel.SMS: [
            *common,
            (
                Reason.INVALID_MOBILE,
                and_(people.mobile.is_(None), people.mobile_rejected.is_not(None)),
            ),
            (Reason.NO_MOBILE, people.mobile.is_(None)),
        ],
    }


def _base_reasons(people):
    """Each channel's reason on `people`' columns, short of duplicate numbers (NULL: none)."""
    return {
        channel: case(
            *((condition, reason.value) for reason, condition in conditions), else_=null()
        ).label(_BASE_COLUMN[channel])
        for channel, conditions in _conditions(people).items()
    }


def _base(selection, organisation_id, *, names=True, cte=False):
    """A subquery (with `cte`, a materialised CTE, for statements that read it more than
    once) with one row per selected person: id, addresses, (with `names`) names and
    protection, and each channel's reason short of duplicate numbers (NULL: may be
    reached)."""

    def fields(table):
        people, reasons = table.c, _base_reasons(table.c)
        shown = [
            people.given_name,
            people.family_name,
            people.protected_identity.label("protected"),
        ]
        return [
            people.id,
            people.email,
            people.mobile,
            *(shown if names else ()),
            reasons[Channel.EMAIL],
            reasons[Channel.SMS],
        ]

    people = _selected(selection, organisation_id, fields)
    return people.cte("base").prefix_with("MATERIALIZED") if cte else people.subquery("base")


def _reasons(selection, organisation_id, channels):
    """`_base` with the final reason per channel: SMS duplicates found with a window over
    the numbers of those who may get SMS, naming the first holder."""
    base = _base(selection, organisation_id)
    columns = [
        base.c.id,
        base.c.email,
        base.c.mobile,
        base.c.given_name,
        base.c.family_name,
        base.c.protected,
    ]
    if Channel.EMAIL in channels:
        columns.append(base.c.email_base.label(_reason_column(Channel.EMAIL)))
    if Channel.SMS in channels:
        first = func.min(base.c.id).over(partition_by=(base.c.sms_base, base.c.mobile))
        duplicate = literal(Reason.DUPLICATE_NUMBER.value, String)
        columns.append(
            case(
                (base.c.sms_base.is_not(None), base.c.sms_base),
                (first != base.c.id, duplicate),
                else_=null(),
            ).label(_reason_column(Channel.SMS))
        )
        columns.append(first.label("first_holder"))
    return select(*columns).subquery("reasons")


KID_FIELDS = (
    "id",
    "role",
    "active",
    "terms_accepted_at",
    "email",
    "mobile",
    "mobile_rejected",
    "given_name",
    "family_name",
    "protected_identity",
)


def _selected_people(selection, organisation_id, fields):
    """`_selected` as a subquery."""
    return _selected(selection, organisation_id, fields).subquery("selected")


def _selected(selection, organisation_id, fields):
    """A select of `fields(people)` of each person the selection reaches, once: the
    UNION of what each part reaches (rows of one person are equal, so UNION keeps one).

    `fields` gets a table (people, or the selected groups' members) and returns columns.
    """
    member = group_memberships.c
    parts = []

    def reached(table, *conditions):
        return select(*fields(table)).where(table.c.organisation_id == organisation_id, *conditions)

    for_students = selection.group_ids(GroupRole.STUDENTS)
    for_guardians = selection.group_ids(GroupRole.GUARDIANS)
    if for_students or for_guardians:
        # The selected groups' students, read once for both roles.
        kids = (
            select(member.group_id, _people.c.organisation_id, *map(_people.c.get, KID_FIELDS))
            .join(_people, _people.c.id == member.person_id)
            .where(_among(member.group_id, for_students | for_guardians))
            .cte("kids")
        )
        if for_students:
            students = reached(kids, kids.c.role == Role.STUDENT)
            if for_guardians - for_students:
                students = students.where(_among(kids.c.group_id, for_students))
            parts.append(students)
        if for_guardians:
            guardian = _people.alias("guardian")
            guardians = (
                reached(guardian, kids.c.role == Role.STUDENT, kids.c.active.is_(True))
                .select_from(guardianships)
                .join(kids, kids.c.id == guardianships.c.student_id)
                .join(guardian, guardian.c.id == guardianships.c.guardian_id)
            )
            if for_students - for_guardians:
                guardians = guardians.where(_among(kids.c.group_id, for_guardians))
            parts.append(guardians)
    if ids := selection.group_ids(GroupRole.STAFF):
        parts.append(
            reached(_people, _among(member.group_id, ids))
            .join(group_memberships, member.person_id == _people.c.id)
            .where(_people.c.role.in_((Role.STAFF, Role.PRINCIPAL)))
        )
    for role in (ScopeRole.STAFF, ScopeRole.PRINCIPALS):
        if ids := selection.school_ids(role):
            parts.append(
                reached(
                    _people, _among(duties.c.school_id, ids), _people.c.role == _ROLES[role]
                ).join(duties, duties.c.person_id == _people.c.id)
            )
    if selection.organisation:
        roles = [_ROLES[role] for role in selection.organisation]
        parts.append(reached(_people, _people.c.role.in_(roles)))
    return union(*parts) if len(parts) > 1 else parts[0].distinct()


def _among(column, ids):
    """`column IN (…)` with the ids written into the SQL: PostgreSQL then sees a constant
    array it can hash, instead of comparing each row with hundreds of parameters."""
    return column.in_(bindparam(None, sorted(ids), Integer, expanding=True, literal_execute=True))
