"""Human-readable numbers that count up within the Swedish calendar year:
SMS-2026-000001 for orders, F-2026-000001 for invoices."""

from zoneinfo import ZoneInfo

from sqlalchemy import text

from portal.extensions import db

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def next_yearly_number(column, prefix, now):
    """`<prefix>-<year>-<6 digits>`, one more than the highest stored this year.

    Writers of the same series take turns: SQLite's write transaction is already
    exclusive, PostgreSQL takes a transaction-scoped advisory lock on the series. The
    column's unique constraint remains the last word.
    """
    series = yearly_series(prefix, now)
    take_turns(series)
    return following(series, db.session.scalar(db.select(last_in_series(column, series))))


def yearly_series(prefix, now):
    """`<prefix>-<year>-`, the year in Stockholm."""
    return f"{prefix}-{now.astimezone(STOCKHOLM).year}-"


def take_turns(series, connection=None):
    """Wait for other writers of `series` until this transaction ends (PostgreSQL; SQLite's
    write transaction already excludes them): the session's transaction, or `connection`'s.
    Call before reading `last_in_series`."""
    if db.engine.dialect.name == "postgresql":
        (db.session if connection is None else connection).execute(TAKE_TURNS, {"series": series})


TAKE_TURNS = text("SELECT pg_advisory_xact_lock(hashtext(:series))")


def last_in_series(column, series):
    """The highest number of `series` in `column`, as a scalar subquery (NULL when none)."""
    return db.select(db.func.max(column)).where(column.startswith(series)).scalar_subquery()


def following(series, last):
    """The number after `last` (None: the first) in `series`."""
    sequence = int(last.removeprefix(series)) + 1 if last else 1
    return f"{series}{sequence:06d}"
