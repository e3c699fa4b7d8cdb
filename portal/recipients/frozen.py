"""A confirmed message's recipients, frozen compactly until its dispatch (issues #6 and #7).

Confirming a send must be quick, yet it must send to exactly whom the confirmation
counted. So confirming stores the list on the message as one text,
`Message.frozen_recipients`, which the database builds from the same reading of the
directory that gave the counts (see `eligibility.snapshot`): on SQLite a JSON array
`[[person_id, channel, address], …]`; on PostgreSQL lines of `person_id<TAB>channel<TAB>
address`, which `string_agg` builds in a third of the time `json_agg` takes (addresses are
validated e-mail addresses and E.164 numbers: they hold no tab or line break). Writing
26,780 recipient rows with their indexes and foreign keys would cost the request several
times as much. The dispatch job then `expand`s the
list into recipient rows with one INSERT … SELECT and clears it in the same transaction,
so a dispatch that runs twice inserts once. Until then the list counts as the message's
pending recipients (`recipient_counts`). Cancelling a message and erasing a person expand
a pending list first, so their rules apply to rows as always.
"""

from sqlalchemy import (
    Integer,
    String,
    cast,
    func,
    literal,
    select,
    union_all,
    update,
)

from portal.extensions import db
from portal.models import Message, Recipient, RecipientStatus
from portal.models.base import UTCDateTime, utcnow

_messages = Message.__table__
FIELD, LINE = "\t", "\n"


def as_list(rows):
    """An aggregate giving the list of `rows`' (person id, channel, address) columns as
    text (NULL for no rows; see `empty_list`)."""
    if _dialect() == "postgresql":
        person, channel, address = rows
        line = func.concat(person, FIELD, channel, FIELD, address)
        return func.string_agg(line, LINE)
    return func.json_group_array(func.json_array(*rows))


def empty_list() -> str:
    return "" if _dialect() == "postgresql" else "[]"


def entries(*where):
    """A subquery of the frozen lists of the messages matching `where`, one row per entry:
    message_id, person_id, channel, address."""
    if _dialect() == "postgresql":
        each = func.string_to_table(_messages.c.frozen_recipients, LINE)
        each = each.table_valued("value", joins_implicitly=True).render_derived()

        def item(n):
            return func.split_part(each.c.value, FIELD, n + 1)
    else:
        each = func.json_each(_messages.c.frozen_recipients)
        each = each.table_valued("value", joins_implicitly=True)

        def item(n):
            return func.json_extract(each.c.value, f"$[{n}]")

    return (
        select(
            _messages.c.id.label("message_id"),
            cast(item(0), Integer).label("person_id"),
            cast(item(1), String).label("channel"),
            cast(item(2), String).label("address"),
        )
        .select_from(_messages, each)
        .where(_messages.c.frozen_recipients.is_not(None), *where)
        .subquery("frozen")
    )


def expand(
    message_id: int,
    status: RecipientStatus = RecipientStatus.PENDING,
    batch_size: int | None = None,
) -> int:
    """Turn the message's frozen list into recipient rows with `status`, and clear it;
    returns how many rows were inserted (0 once expanded). With `batch_size`, the rows
    are numbered into send batches of that many per channel as they are inserted (a
    second pass over them would write every row again). The caller holds the message
    row locked in a write transaction."""
    frozen = entries(_messages.c.id == message_id)
    columns = ["message_id", "person_id", "channel", "address", "status", "attempts", "updated_at"]
    values = [
        *(frozen.c[name] for name in columns[:4]),
        literal(status.value, String),
        literal(0, Integer),
        literal(utcnow(), UTCDateTime()),
    ]
    if batch_size is not None:
        columns.append("batch_no")
        values.append((func.row_number().over(partition_by=frozen.c.channel) - 1) // batch_size)
    insert = Recipient.__table__.insert().from_select(columns, select(*values))
    inserted = db.session.execute(insert.execution_options(preserve_rowcount=True)).rowcount
    db.session.execute(
        update(_messages)
        .where(_messages.c.id == message_id)
        .values(frozen_recipients=None)
        .execution_options(synchronize_session=False)
    )
    return inserted


def recipient_counts(message_ids):
    """A select of (message_id, channel, status, count) over the recipients of
    `message_ids`: their rows, and everyone on a list not yet expanded as pending (a
    message and channel may come twice while it is expanded; add them up)."""
    rows = Recipient.__table__.c
    frozen = entries(_messages.c.id.in_(message_ids))
    return union_all(
        select(rows.message_id, rows.channel, rows.status, func.count())
        .where(rows.message_id.in_(message_ids))
        .group_by(rows.message_id, rows.channel, rows.status),
        select(
            frozen.c.message_id,
            frozen.c.channel,
            literal(RecipientStatus.PENDING.value, String),
            func.count(),
        ).group_by(frozen.c.message_id, frozen.c.channel),
    )


def _dialect():
    return db.engine.dialect.name
