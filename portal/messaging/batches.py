"""The database side of sending (issue #7): numbering recipients into batches, claiming
a chunk with a lease, recording what the provider answered, and finishing a message.

The database is the source of truth. A recipient is claimed (status `claimed`, a lease)
before anything is sent to it, so two workers never send the same row; a lease that
runs out (a worker killed mid-chunk) makes the row claimable again. Every statement is
a bulk one, and a chunk costs one transaction whatever its size: recording its answers,
billing them and claiming the next chunk are committed together.
"""

import functools
import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    case,
    column,
    func,
    literal_column,
    or_,
    select,
    text,
    true,
    update,
)

from portal.billing.usage import charge, ledger_entry_where_room
from portal.database import analyze_if_grown, locked, run_core, write_transaction
from portal.extensions import db
from portal.models import (
    Channel,
    Message,
    MessageStatus,
    Organisation,
    RecipientStatus,
    SmsStatus,
)
from portal.models.audit import record as audit
from portal.models.base import utcnow
from portal.models.messages import Recipient
from portal.recipients.frozen import expand

logger = logging.getLogger(__name__)

R = Recipient.__table__.c
OPEN = (RecipientStatus.PENDING, RecipientStatus.CLAIMED)
RETRY_BASE_SECONDS = 2
RETRY_CAP_SECONDS = 15 * 60
SMS_TURNED_OFF = _l("Inte skickat: SMS har avaktiverats för organisationen.")
MESSAGE_CANCELLED = _l("Inte skickat: utskicket avbröts.")
TOO_OLD = _l("Tekniskt fel: SMS-tjänsten tog inte emot SMS:et inom ett dygn (%(reason)s)")


@dataclass(frozen=True)
class Claimed:
    """A recipient this worker holds until `lease` (the claim's mark on the row)."""

    id: int
    address: str
    attempts: int
    lease: datetime


@dataclass(frozen=True)
class Outcome:
    """What became of one claimed recipient. `status` pending means try again at
    `retry_at` (`tried` False: it was never offered to the provider)."""

    id: int
    status: RecipientStatus
    provider_id: str | None = None
    parts: int | None = None
    error: str | None = None
    retry_at: datetime | None = None
    tried: bool = True


def sent(row_id, provider_id=None, parts=None):
    return Outcome(row_id, RecipientStatus.SENT, provider_id, parts)


def failed(row_id, reason):
    return Outcome(row_id, RecipientStatus.FAILED, error=str(reason))


def released(row_id):
    return Outcome(row_id, RecipientStatus.PENDING, tried=False)


def deferred(row: Claimed, reason, first_tried: datetime, retry_after=None, now=None):
    """Try `row` again after a backoff with jitter (or the provider's Retry-After), or
    fail it as a technical failure once retrying has gone on for SMS_RETRY_MAX_AGE."""
    now = now or utcnow()
    delay = retry_after if retry_after is not None else retry_delay(row.attempts + 1)
    retry_at = now + timedelta(seconds=delay)
    max_age = timedelta(seconds=current_app.config["SMS_RETRY_MAX_AGE_SECONDS"])
    if retry_at - first_tried > max_age:
        return failed(row.id, str(TOO_OLD) % {"reason": reason})
    return Outcome(row.id, RecipientStatus.PENDING, error=str(reason), retry_at=retry_at)


def retry_delay(attempt: int) -> float:
    """Exponential backoff with full jitter: up to 2, 4, 8 … seconds, at most 15 minutes."""
    ceiling = min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


def number_batches(message_id: int, size: int) -> list[tuple[Channel, int]]:
    """Give every recipient of the message that has none a batch number (per channel,
    `size` recipients each) in one statement; returns the batches with open recipients."""
    numbered = (
        select(
            R.id,
            ((func.row_number().over(partition_by=R.channel, order_by=R.id) - 1) // size).label(
                "batch"
            ),
        )
        .where(R.message_id == message_id, R.batch_no.is_(None))
        .subquery()
    )
    db.session.execute(
        update(Recipient.__table__).where(R.id == numbered.c.id).values(batch_no=numbered.c.batch)
    )
    return open_batches(message_id)


def open_batches(message_id: int) -> list[tuple[Channel, int]]:
    """(channel, batch) pairs of the message with recipients pending or claimed."""
    rows = db.session.execute(
        select(R.channel, R.batch_no)
        .distinct()
        .where(R.message_id == message_id, R.status.in_(OPEN))
        .order_by(R.channel, R.batch_no)
    ).all()
    return [(Channel(channel), batch) for channel, batch in rows]


def due_batches(message_id: int, now: datetime) -> list[tuple[Channel, int, datetime | None]]:
    """(channel, batch, lapsed) for every batch of the message with recipients a worker
    could claim now; `lapsed` is the latest lapsed lease among them (their worker died),
    or None when they are only pending."""
    lapsed = func.max(case((R.status == RecipientStatus.CLAIMED, R.lease_until)))
    rows = db.session.execute(
        select(R.channel, R.batch_no, lapsed)
        .where(R.message_id == message_id, _claimable(now))
        .group_by(R.channel, R.batch_no)
        .order_by(R.channel, R.batch_no)
    ).all()
    return [(Channel(channel), batch, until) for channel, batch, until in rows]


def claim(message_id: int, channel: Channel, batch_no: int, limit: int) -> list[Claimed]:
    """Claim up to `limit` recipients of one batch for this worker, with a lease.

    Nothing is claimed for a cancelled message, nor SMS for an organisation whose SMS
    was turned off: those recipients are cancelled instead (not sent, not billed)."""
    with write_transaction():
        return _claim(message_id, channel, batch_no, limit)


def record(
    message: "MessageFacts",
    outcomes: list[Outcome],
    lease: datetime,
    channel: Channel,
    batch_no: int,
    limit: int,
) -> list[Claimed]:
    """Store what became of a chunk claimed with `lease`, bill the SMS parts the provider
    accepted, and claim the batch's next chunk (up to `limit`; 0 claims nothing), in one
    transaction: a chunk costs one commit. Only rows still under this claim are written
    (a row whose lease ran out and that another worker took over is that worker's), and
    only what is written is billed: the ledger always adds up to the parts on the rows.
    An SMS sent by a worker that had lost its claim is a duplicate of ours, not the
    organisation's to pay; it is logged."""
    now = utcnow()
    offered = sum(
        outcome.parts or 0 for outcome in outcomes if outcome.status == RecipientStatus.SENT
    )
    steps = _record_at_once if db.engine.dialect.name == "postgresql" else _record_in_steps
    with write_transaction():
        units, claimed = steps(message, outcomes, lease, channel, batch_no, limit, now)
        if units < offered:
            logger.warning(
                "Message %d: %d SMS parts sent after their claim had passed to another "
                "worker; not billed",
                message.id,
                offered - units,
            )
        return claimed


def _record_in_steps(message, outcomes, lease, channel, batch_no, limit, now):
    """`record` a statement at a time (SQLite, whose round trips cost nothing):
    the organisation locked, the outcomes stored, their parts billed, the next chunk
    claimed. Returns the parts billed and the rows claimed."""
    if any(outcome.parts for outcome in outcomes):  # locked before any recipient row, as everywhere
        run_core(_LOCK_ORGANISATION, {"p_organisation": message.organisation_id})
    units = _store(outcomes, lease, now)
    if units:
        charge(message.organisation_id, message.id, units)
    return units, _claim(message.id, channel, batch_no, limit, now) if limit else []


def _record_at_once(message, outcomes, lease, channel, batch_no, limit, now):
    """`record` in two statements (PostgreSQL, where each is a round trip the recorder
    waits for and a hand-over of the GIL): the organisation locked (and the claim
    planned for its values), then one statement that stores the outcomes, draws their
    parts from the open package where they fit, adds them to the ledger and claims the
    next chunk. Parts that do not fit (the package is used up) are charged after it, in
    the same transaction. A chunk that hands recipients back untried (a 429) is claimed
    after it too: one statement does not see the rows it hands back, and the batch's
    next chunk starts with them. Returns the parts billed and the rows claimed."""
    run_core(_LOCK_FOR_RECORD, {"p_organisation": message.organisation_id})
    handed_back = not all(outcome.tried for outcome in outcomes)
    new_lease = now + timedelta(seconds=current_app.config["SMS_LEASE_SECONDS"])
    rows = run_core(
        _record_statement(channel),
        {
            "outcomes": _outcomes_json(outcomes, now),
            "p_held": lease,
            "p_now": now,
            "p_organisation": message.organisation_id,
            "p_message_id": message.id,
            "p_channel": channel,
            "p_batch_no": batch_no,
            "p_limit": 0 if handed_back else limit,
            "p_lease": new_lease,
        },
    ).all()
    units, billed = rows[0].units, rows[0].billed
    if units and billed is None:
        charge(message.organisation_id, message.id, units)
    if handed_back:
        return units, _claim(message.id, channel, batch_no, limit, now) if limit else []
    claimed = [(row.id, row.address, row.attempts) for row in rows if row.id]
    return units, _taken(claimed, new_lease, message.id, channel, batch_no, now) if limit else []


_LOCK_ORGANISATION = (
    select(Organisation.id).where(Organisation.id == bindparam("p_organisation")).with_for_update()
)


# The organisation locked, and the rest of the transaction planned for its values (as
# CUSTOM_PLAN below, in the same round trip).
_LOCK_FOR_RECORD = _LOCK_ORGANISATION.add_columns(
    func.set_config("plan_cache_mode", "force_custom_plan", True)
)


def _claim(message_id, channel, batch_no, limit, now=None):
    """The claim itself checks that the message may still be sent, so the usual case is
    one statement; only when it claims nothing is the reason looked up."""
    now = now or utcnow()
    lease = now + timedelta(seconds=current_app.config["SMS_LEASE_SECONDS"])
    dialect = db.engine.dialect.name
    if dialect == "postgresql":
        run_core(CUSTOM_PLAN)
    rows = run_core(
        _claim_statement(dialect, channel),
        {
            "p_message_id": message_id,
            "p_channel": channel,
            "p_batch_no": batch_no,
            "p_limit": limit,
            "p_now": now,
            "p_lease": lease,
        },
    ).all()
    return _taken(rows, lease, message_id, channel, batch_no, now)


def _taken(rows, lease, message_id, channel, batch_no, now) -> list[Claimed]:
    """The rows a claim took (id, address, attempts), in order, each held until `lease`;
    when it took none, the batch's unsent recipients are cancelled if the message may no
    longer be sent."""
    if not rows:
        _cancel_if_stopped(message_id, channel, batch_no, now)
    return sorted((Claimed(*row, lease) for row in rows), key=lambda row: row.id)


# psycopg prepares a statement that runs five times, and the generic plan PostgreSQL then
# gives the claim (blind to which batch, among how many claimed rows) grew from 3 to
# 9 ms a claim over a send. Planning it for its values each time is set for the rest of
# the transaction only, whose claim is its last statement: the foreign-key checks of
# bulk inserts elsewhere keep their cached plans (planned afresh they took twice as
# long).
CUSTOM_PLAN = text("SET LOCAL plan_cache_mode = force_custom_plan")


@functools.cache
def _claim_statement(dialect: str, channel: Channel):
    """Built once per database and channel: the hot path only binds its values."""
    return _claiming(dialect, channel)


def _claiming(dialect: str, channel: Channel, *besides):
    """The claim: up to :p_limit claimable recipients of the batch (and `besides`), in
    order, given the lease :p_lease; none once the message may no longer be sent."""
    now = bindparam("p_now", type_=R.updated_at.type)
    stopped = Message.status == MessageStatus.CANCELLED
    if channel == Channel.SMS:
        stopped = or_(stopped, Organisation.sms_status != SmsStatus.ACTIVE)
    may_send = ~(
        select(Message.id)
        .join(Organisation, Organisation.id == Message.organisation_id)
        .where(Message.id == bindparam("p_message_id"), stopped)
        .exists()
    )
    chosen = (
        select(R.id)
        .where(_in_batch(), _claimable(now), may_send, *besides)
        .order_by(R.id)
        .limit(bindparam("p_limit", type_=Integer))
    )
    if dialect == "postgresql":
        # The ids as one array (computed once, first) that the primary key looks up:
        # `id IN (…)` let the planner join the chosen ids to a scan of the whole table.
        chosen = func.array(chosen.with_for_update(skip_locked=True).scalar_subquery())
        where = R.id == func.any(chosen)
    else:
        where = R.id.in_(chosen.scalar_subquery())
    return (
        update(Recipient.__table__)
        .where(where)
        .values(
            status=RecipientStatus.CLAIMED,
            lease_until=bindparam("p_lease", type_=R.lease_until.type),
            updated_at=now,
        )
        .returning(R.id, R.address, R.attempts)
    )


@functools.cache
def _record_statement(channel: Channel):
    """PostgreSQL's record of a chunk in one statement: the claim's rows written from the
    outcomes (`written`), their parts drawn from the open package where they fit and
    added to the ledger (`billed`; empty when they do not fit, or there are none), and
    the batch's next chunk claimed, leaving out the rows held under the claim being
    recorded (their lease may have run out meanwhile; a row must not be written twice
    in one statement). One row per claimed recipient, each with the parts written
    (`units`) and the ledger's package (`billed`); one row with no recipient when
    nothing is claimed. The organisation is locked before it, by `_LOCK_FOR_RECORD`."""
    written = _stored(_outcomes_table().c).cte("written")
    units = select(func.coalesce(func.sum(written.c.parts), 0).label("units")).cte("units")
    billed = ledger_entry_where_room(units.c.units).cte("billed")
    held = bindparam("p_held", type_=R.lease_until.type)
    claimed = _claiming("postgresql", channel, R.lease_until.is_distinct_from(held)).cte("claimed")
    return select(
        units.c.units,
        select(billed.c.package_id).scalar_subquery().label("billed"),
        claimed.c.id,
        claimed.c.address,
        claimed.c.attempts,
    ).select_from(units.outerjoin(claimed, true()))


def _in_batch():
    return and_(
        R.message_id == bindparam("p_message_id"),
        R.channel == bindparam("p_channel", type_=R.channel.type),
        R.batch_no == bindparam("p_batch_no"),
    )


_NEXT_RETRY = select(func.min(R.retry_at)).where(_in_batch(), R.status == RecipientStatus.PENDING)


def _store(outcomes: list[Outcome], lease: datetime, now: datetime) -> int:
    """Write the outcomes of the rows still under the claim marked `lease` in one UPDATE
    however long the chunk (SQLite; PostgreSQL does it within `_record_statement`).
    Returns the SMS parts of the rows it marked sent."""
    written = run_core(
        _STORE_FROM_JSON_EACH,
        {"outcomes": _outcomes_json(outcomes, now), "p_now": now, "p_held": lease},
    )
    return sum(parts for (parts,) in written if parts)


def _outcomes_json(outcomes: list[Outcome], now: datetime) -> str:
    """The outcomes as the one JSON array the store is joined to, each value already in
    the form its column stores (serialised in C, where psycopg would dump arrays value
    by value in Python)."""
    stored = _stored_forms(db.engine.dialect)
    sent_at = stored.time(now)
    return json.dumps(
        [
            {
                "row_id": outcome.id,
                "new_status": stored.statuses[outcome.status],
                "new_provider_id": _fitted(outcome.provider_id, R.provider_id.type.length),
                "new_parts": outcome.parts,
                "new_error": _fitted(outcome.error, R.error.type.length),
                "new_retry_at": outcome.retry_at and stored.time(outcome.retry_at),
                "new_sent_at": sent_at if outcome.status is RecipientStatus.SENT else None,
                "tried": int(outcome.tried),
            }
            for outcome in outcomes
        ]
    )


def _fitted(value: str | None, length: int) -> str | None:
    """`value` cut to its column's `length`: PostgreSQL refuses a longer one, and the
    chunk's SMS have gone out, so its record must not fail over a provider's over-long
    id or a server's over-long reason."""
    return value[:length] if value else value


class StoredForms(NamedTuple):
    """The forms an outcome's values take in the JSON the store sends: each status's,
    and a timestamp's (as the column would store it, in text)."""

    statuses: dict[RecipientStatus, str]
    time: Callable[[datetime], str]


@functools.cache
def _stored_forms(dialect) -> StoredForms:
    """The stored forms on `dialect`, found once: building a chunk's JSON then only
    looks them up."""
    status = R.status.type.dialect_impl(dialect).bind_processor(dialect) or str
    moment = R.sent_at.type.dialect_impl(dialect).bind_processor(dialect)

    def time(value: datetime) -> str:
        value = moment(value)
        return value.isoformat() if isinstance(value, datetime) else value

    return StoredForms({member: status(member.value) for member in RecipientStatus}, time)


def _outcomes_table():
    """PostgreSQL's table of the outcomes' JSON array, typed by `json_to_recordset`."""
    return (
        func.json_to_recordset(bindparam("outcomes"))
        .table_valued(*(column(name, type_) for name, type_ in _STORED_TYPES.items()))
        .render_derived(name="outcome", with_types=True)
    )


def _store_from_json_each():
    """SQLite's store: the outcomes read value by value with `json_extract` (SQLite has
    no UPDATE in a WITH, so it answers the parts of every row it wrote)."""
    outcomes = func.json_each(bindparam("outcomes")).table_valued("value").alias("outcome")
    return _stored(
        {
            name: func.json_extract(outcomes.c.value, literal_column(f"'$.{name}'"))
            for name in _STORED_TYPES
        }
    )


def _stored(source):
    """The UPDATE of the rows still under the claim marked :p_held from `source`'s
    columns (a table of outcomes), answering their parts. Only a claimed row has a
    lease, so the lease alone tells that the row is still this claim's, and the row is
    found by its id (a condition on the status would lead the planner to the status
    index, whose statistics see almost no claimed rows)."""
    return (
        update(Recipient.__table__)
        .where(
            R.id == source["row_id"],
            R.lease_until == bindparam("p_held", type_=R.lease_until.type),
        )
        .values(
            status=source["new_status"],
            provider_id=source["new_provider_id"],
            parts=source["new_parts"],
            error=source["new_error"],
            retry_at=source["new_retry_at"],
            sent_at=source["new_sent_at"],
            attempts=R.attempts + source["tried"],
            lease_until=None,
            updated_at=bindparam("p_now", type_=R.updated_at.type),
        )
        .returning(R.parts)
    )


_STORED_TYPES = {
    "row_id": Integer(),
    "new_status": R.status.type,
    "new_provider_id": R.provider_id.type,
    "new_parts": Integer(),
    "new_error": R.error.type,
    "new_retry_at": R.retry_at.type,
    "new_sent_at": R.sent_at.type,
    "tried": Integer(),
}
_STORE_FROM_JSON_EACH = _store_from_json_each()


def _cancel_if_stopped(message_id, channel, batch_no, now):
    status, sms_status = db.session.execute(
        select(Message.status, Organisation.sms_status)
        .join(Organisation, Organisation.id == Message.organisation_id)
        .where(Message.id == message_id)
    ).one()
    where = and_(R.message_id == message_id, R.channel == channel, R.batch_no == batch_no)
    if status == MessageStatus.CANCELLED:
        _cancel(where, MESSAGE_CANCELLED, now)
    elif channel == Channel.SMS and sms_status != SmsStatus.ACTIVE:
        _cancel(where, SMS_TURNED_OFF, now)


def next_retry(message_id: int, channel: Channel, batch_no: int) -> datetime | None:
    """When the earliest deferred recipient of the batch is due, if any."""
    batch = {"p_message_id": message_id, "p_channel": channel, "p_batch_no": batch_no}
    return run_core(_NEXT_RETRY, batch).scalar()


def unfinished_messages(cancelled_within=timedelta(days=1)):
    """(id, status) of messages still being sent, and of messages cancelled lately
    (a killed worker may have left claimed recipients that must still be settled)."""
    now = utcnow()
    return db.session.execute(
        select(Message.id, Message.status)
        .where(
            or_(
                Message.status.in_((MessageStatus.QUEUED, MessageStatus.SENDING)),
                and_(
                    Message.status == MessageStatus.CANCELLED,
                    Message.cancelled_at >= now - cancelled_within,
                ),
            )
        )
        .order_by(Message.id)
    ).all()


def start(message_id: int) -> bool:
    """Mark a queued message as sending, its frozen recipients expanded into rows; False
    when it is not to be sent (cancelled)."""
    with write_transaction():
        message = locked(Message, Message.id == message_id)
        if message is None or message.status not in (MessageStatus.QUEUED, MessageStatus.SENDING):
            return False
        message.status = MessageStatus.SENDING
        size = current_app.config["SMS_BATCH_SIZE"]
        expanded = expand(message_id, batch_size=size)
        number_batches(message_id, size)  # rows expanded before (erasing someone) have none
    analyze_if_grown(Recipient.__table__, expanded)
    return True


def finish_if_done(message_id: int) -> bool:
    """Mark the message done once none of its recipients is pending or claimed."""
    if _any_open(message_id):
        db.session.rollback()
        return False
    with write_transaction():
        message = locked(Message, Message.id == message_id)
        if message.status not in (MessageStatus.QUEUED, MessageStatus.SENDING):
            return False
        if _any_open(message_id):
            return False
        message.status = MessageStatus.DONE
        message.sent_at = utcnow()
        counts = dict(
            db.session.execute(
                select(R.status, func.count()).where(R.message_id == message_id).group_by(R.status)
            ).all()
        )
        audit(
            "message.sent",
            actor=message.author,
            organisation=message.organisation,
            subject=message,
            **{str(status): n for status, n in counts.items()},
        )
    return True


def _any_open(message_id: int) -> bool:
    """Whether a recipient of the message is pending or claimed: the first one found
    answers (every batch job asks, while thousands may still be open). Asked in the
    status index's order, so that the index answers it: as `EXISTS`, PostgreSQL read
    the table from its start when its statistics, taken as the message was dispatched,
    had every row open, and the rows already sent came first (3-4 ms a job at 20,000
    rows, growing with the table)."""
    return (
        db.session.scalar(
            select(R.id)
            .where(R.message_id == message_id, R.status.in_(OPEN))
            .order_by(R.message_id, R.channel, R.status)
            .limit(1)
        )
        is not None
    )


@dataclass(frozen=True)
class MessageFacts:
    """What a send job needs of its message, read once per job."""

    id: int
    organisation_id: int
    text: str
    sender: str
    created_at: datetime


def _claimable(now):
    return or_(
        and_(
            R.status == RecipientStatus.PENDING,
            or_(R.retry_at.is_(None), R.retry_at <= now),
        ),
        and_(R.status == RecipientStatus.CLAIMED, R.lease_until < now),
    )


def _cancel(where, reason, now):
    """Cancel the unsent recipients under `where`: pending ones, and claimed ones whose
    lease ran out (those in a live worker's hands finish there)."""
    unsent = or_(
        R.status == RecipientStatus.PENDING,
        and_(R.status == RecipientStatus.CLAIMED, R.lease_until < now),
    )
    db.session.execute(
        update(Recipient.__table__)
        .where(where, unsent)
        .values(
            status=RecipientStatus.CANCELLED, error=str(reason), lease_until=None, updated_at=now
        )
    )
