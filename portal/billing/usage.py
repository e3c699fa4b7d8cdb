"""Drawing SMS units from packages, and the usage ledger behind every invoice (§3.5).

`charge` is the one place a package is closed and the next opened. It runs inside the
caller's `write_transaction()` and locks the organisation row first, then its open
package (then the message's ledger row): charges for one organisation are serialised,
so each package is used up, closed and followed by the next (invoiced) package exactly
once, however many workers charge at the same instant. The sending pipeline's record
on PostgreSQL draws units that leave some to spare in its own statement
(`ledger_entry_where_room`), under the same lock, and leaves the rest to `charge`.
"""

import functools
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import Integer, bindparam, case, func, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import joinedload

from portal.billing.invoices import STOCKHOLM, stockholm_midnight
from portal.billing.packages import open_package
from portal.database import locked, run_core, upsert
from portal.extensions import db
from portal.models import Message, Organisation, SmsPackage, UsageEntry
from portal.models.base import utcnow

LEDGER = UsageEntry.__table__.c
PACKAGE = SmsPackage.__table__.c


class Drawn(NamedTuple):
    """A message's ledger entry in one package after a charge: all its units there."""

    package_id: int
    units: int


def charge(organisation_id: int, message_id: int, units: int) -> list[Drawn]:
    """Bill `units` SMS parts of message `message_id`, which the provider has accepted.

    Units are drawn from the open package; one that is used up is closed and the next
    one opened and invoiced at the current price, so a charge crossing a boundary is
    split over packages. Returns the message's ledger entries the units went to, one
    per package in order; an entry holds all the message's units in its package (a
    later charge adds to it), so its `units` may be more than this charge drew.
    `units == 0` charges nothing and returns []; negative units raise ValueError.

    Accepted parts are always billed, also when SMS was deactivated after they were
    claimed: then a package is opened only if the units do not fit, and its audit
    event says so. A deactivated organisation's used-up package is left as it is.

    The sending pipeline charges every chunk, so the usual case, units that leave the
    open package with some to spare, is two prepared statements: the organisation
    locked (with the message's owner checked) and the package's `used` raised where the
    units fit, in one; the ledger upserted. Only a charge that would use the package up
    (or finds none) goes on to lock the package and open the next.
    """
    if units < 0:
        raise ValueError(f"units must not be negative: {units}")
    if units == 0:
        return []
    parameters = {"p_organisation": organisation_id, "p_message": message_id, "p_units": units}
    package_id = run_core(DRAW_WITH_ROOM, parameters).scalar()
    if package_id is not None:
        return [_add_to_ledger(organisation_id, message_id, package_id, units)]
    organisation = _locked_owner(organisation_id, message_id)
    package = locked(
        SmsPackage,
        SmsPackage.organisation_id == organisation_id,
        SmsPackage.closed_at.is_(None),
    )
    entries = []
    while units:
        if package is None or package.remaining == 0:
            package = _next_package(organisation, message_id)
        drawn = min(units, package.remaining)
        package.used += drawn
        entries.append(_add_to_ledger(organisation_id, message_id, package.id, drawn))
        units -= drawn
    if package.remaining == 0 and organisation.sms_active:
        _next_package(organisation, message_id)
    db.session.flush()
    return entries


def packages_to_open(remaining: int, units: int, size: int) -> int:
    """How many packages `charge` opens for `units` with `remaining` left in the open
    package (0 when there is none) and `size` units a package, for an active
    organisation: a package that is used up is followed by the next at once."""
    if units <= 0 or units < remaining:
        return 0
    return 1 + (units - remaining) // size


def _locked_owner(organisation_id, message_id):
    """The organisation, locked, provided message `message_id` is one of its own."""
    organisation = db.session.execute(
        db.select(Organisation)
        .join(Message, Message.organisation_id == Organisation.id)
        .where(Organisation.id == organisation_id, Message.id == message_id)
        .with_for_update(of=Organisation)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if organisation is None:
        raise LookupError(f"Message {message_id} is not one of organisation {organisation_id}'s")
    return organisation


def _next_package(organisation, message_id):
    if organisation.sms_active:
        return open_package(organisation)
    return open_package(organisation, sms_status=organisation.sms_status.value, message=message_id)


def _draw_with_room():
    """Raise the open package's `used` by :p_units where more than that is left; returns
    the package's id, or nothing. The organisation's row is locked first, in the same
    statement (a sub-select run before the package is touched), and only if the
    message is its own. Built once: the hot path only binds its values."""
    units = bindparam("p_units", type_=Integer)
    owner = (
        select(Organisation.id)
        .join(Message, Message.organisation_id == Organisation.id)
        .where(
            Organisation.id == bindparam("p_organisation", type_=Integer),
            Message.id == bindparam("p_message", type_=Integer),
        )
        .with_for_update(of=Organisation)
        .scalar_subquery()
    )
    return _drawn_where_room(owner, units)


def _drawn_where_room(organisation, units):
    """The UPDATE raising the open package's `used` of `organisation` by `units` where
    more than that is left, answering the package's id."""
    return (
        update(SmsPackage.__table__)
        .where(
            PACKAGE.organisation_id == organisation,
            PACKAGE.closed_at.is_(None),
            PACKAGE.size - PACKAGE.used > units,
        )
        .values(used=PACKAGE.used + units)
        .returning(PACKAGE.id)
    )


DRAW_WITH_ROOM = _draw_with_room()


def ledger_entry_where_room(units):
    """For PostgreSQL's WITH: `units` (a column of a one-row CTE) drawn from the open
    package of organisation :p_organisation where they leave some to spare, and added
    to message :p_message_id's ledger entry in it (made at :p_now if new), in one
    statement that answers the entry's package, or nothing: no units, no open package,
    or units that would use it up, which the caller then `charge`s. The caller has
    locked the organisation."""
    drawn = (
        _drawn_where_room(bindparam("p_organisation", type_=Integer), units)
        .where(units > 0)
        .returning(units.label("units"))
        .cte("drawn")
    )
    entry = postgresql.insert(UsageEntry.__table__).from_select(
        ["organisation_id", "package_id", "message_id", "units", "created_at"],
        select(
            bindparam("p_organisation", type_=Integer),
            drawn.c.id,
            bindparam("p_message_id", type_=Integer),
            drawn.c.units,
            bindparam("p_now", type_=LEDGER.created_at.type),
        ),
        include_defaults=False,
    )
    return _adding_to_entry(entry).returning(LEDGER.package_id)


def _add_to_ledger(organisation_id, message_id, package_id, units) -> Drawn:
    """Add `units` to the message's entry in the package, creating it if need be, in
    one statement (the entry's row stays locked until the transaction ends)."""
    statement = _ledger_upsert(db.engine.dialect.name)
    added = run_core(
        statement,
        {
            "p_organisation": organisation_id,
            "p_package": package_id,
            "p_message": message_id,
            "p_units": units,
        },
    )
    return Drawn(package_id, added.scalar_one())


@functools.cache
def _ledger_upsert(_dialect: str):
    statement = upsert(UsageEntry.__table__).values(
        organisation_id=bindparam("p_organisation", type_=Integer),
        package_id=bindparam("p_package", type_=Integer),
        message_id=bindparam("p_message", type_=Integer),
        units=bindparam("p_units", type_=Integer),
    )
    return _adding_to_entry(statement).returning(LEDGER.units)


def _adding_to_entry(insert):
    """`insert` of a ledger entry adding its units to the message's entry in the package
    when there is one already."""
    return insert.on_conflict_do_update(
        index_elements=[LEDGER.message_id, LEDGER.package_id],
        set_={"units": LEDGER.units + insert.excluded.units},
    )


@dataclass(frozen=True)
class MonthUsage:
    month: date  # the first day of the month, Stockholm time
    units: int
    messages: int


def monthly_usage(organisation_id: int, *, months: int = 12, now: datetime | None = None):
    """SMS units and distinct messages per month for the last `months` months (this one
    included), oldest first, months without usage as zeros. Months are Stockholm
    months; a ledger entry counts in the month it was first drawn. Grouped in SQL by
    the months' first instants in UTC, so both databases agree (SQLite has no time
    zones) and summer time is followed."""
    starts = _month_starts(now or utcnow(), months)
    bounds = [stockholm_midnight(day) for day in [*starts, _next_month(starts[-1])]]
    bucket = case(
        *((UsageEntry.created_at < bounds[index + 1], index) for index in range(len(starts))),
    )
    rows = db.session.execute(
        db.select(
            bucket.label("bucket"),
            func.sum(UsageEntry.units),
            func.count(func.distinct(UsageEntry.message_id)),
        )
        .where(
            UsageEntry.organisation_id == organisation_id,
            UsageEntry.created_at >= bounds[0],
            UsageEntry.created_at < bounds[-1],
        )
        .group_by("bucket")
    ).all()
    found = {index: (units, messages) for index, units, messages in rows}
    return [MonthUsage(day, *found.get(index, (0, 0))) for index, day in enumerate(starts)]


def package_ledger(package_id: int):
    """A select of the package's ledger entries with their messages, oldest first."""
    return (
        db.select(UsageEntry)
        .options(joinedload(UsageEntry.message))
        .where(UsageEntry.package_id == package_id)
        .order_by(UsageEntry.created_at, UsageEntry.id)
    )


def ledger_total(package_id: int) -> int:
    """The units in the package's ledger: equal to the package's `used`."""
    return db.session.scalar(
        db.select(func.coalesce(func.sum(UsageEntry.units), 0)).where(
            UsageEntry.package_id == package_id
        )
    )


def _month_starts(now, months):
    local = now.astimezone(STOCKHOLM)
    year, month = local.year, local.month
    starts = []
    for _ in range(months):
        starts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def _next_month(day):
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)
