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
    year_prefix = f"{prefix}-{now.astimezone(STOCKHOLM).year}-"
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:series))"), {"series": year_prefix}
        )
    last = db.session.scalar(db.select(db.func.max(column)).where(column.startswith(year_prefix)))
    sequence = int(last.removeprefix(year_prefix)) + 1 if last else 1
    return f"{year_prefix}{sequence:06d}"
