"""Engine behaviour both databases need: SQLite in WAL mode with a busy timeout,
foreign keys on, and transactions that can take the write lock up front.

Money-moving code opens its transaction with `write_transaction()`: on SQLite
that is `BEGIN IMMEDIATE` (the database write lock, taken before the first
read), on PostgreSQL a normal transaction in which the caller locks its rows
with `SELECT … FOR UPDATE` (`.with_for_update()`, which SQLite ignores).
`write_connection()` is the same transaction on a connection of its own, for a
hot path that writes with Core statements only (the public order form).
"""

from contextlib import contextmanager

from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from portal.extensions import db

SQLITE_BUSY_TIMEOUT_MS = 15_000
IMMEDIATE = "portal_begin_immediate"
ANALYZE_BASE_ROWS, ANALYZE_SHARE = 50, 0.1  # PostgreSQL's autovacuum defaults


def init_app(app):
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _configure_sqlite_connection)
            event.listen(engine, "begin", _begin_sqlite)


def _configure_sqlite_connection(dbapi_connection, _record):
    # Hand transaction control to the "begin" hook below (the pysqlite recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_sqlite(connection):
    # Straight to the driver: through SQLAlchemy's statement machinery (exec_driver_sql)
    # the BEGIN cost more than SQLite's own work for it, on every transaction.
    immediate = connection.get_execution_options().get(IMMEDIATE, False)
    connection.connection.driver_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def write_transaction():
    """Run the block in one transaction that holds the write lock from its start.

    Commits when the block ends, rolls back if it raises. A transaction the
    session already has open (a request's reads) is committed first.
    """
    session = db.session()
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={IMMEDIATE: True})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


@contextmanager
def write_connection():
    """Like `write_transaction()`, but on a connection of its own rather than through the
    session: for Core statements only, it skips the session's bookkeeping (on the order
    form's post, 0.1 ms of the transaction's 0.5 ms). A transaction the session already
    has open is committed first, as there."""
    if db.session.registry.has() and db.session().in_transaction():
        db.session.commit()
    with db.engine.connect() as connection:
        with connection.execution_options(**{IMMEDIATE: True}).begin():
            yield connection


def in_write_transaction(work, *args, attempts=3):
    """`work(*args)` inside `write_transaction()`, retried when a unique constraint
    settles a race (two writers took the same next number); its result is returned."""
    return _retried(write_transaction, lambda _session: work(*args), attempts)


def in_write_connection(work, *args, attempts=3):
    """`work(connection, *args)` inside `write_connection()`, retried as
    `in_write_transaction` is; its result is returned."""
    return _retried(write_connection, lambda connection: work(connection, *args), attempts)


def _retried(transaction, work, attempts):
    for attempt in range(1, attempts + 1):
        try:
            with transaction() as target:
                return work(target)
        except IntegrityError:
            if attempt == attempts:
                raise
    return None


def run_core(statement, parameters=None):
    """Run a Core statement in the session's transaction, past the ORM's execution layer
    (which a Core statement does not need): for statements a hot path runs many times
    (recording a chunk of SMS, 0.1–0.3 ms of CPU each in that layer)."""
    return db.session.connection().execute(statement, parameters)


def analyze_if_grown(table, added: int) -> bool:
    """Refresh PostgreSQL's statistics of `table` now when `added` rows just committed to
    it are more than they know of (autovacuum's rule: 50 rows and a tenth of the
    table), rather than when autovacuum next looks, up to a minute later. A first large
    send would otherwise be planned on statistics of a table without it: the planner
    finds every index as cheap and may take one that reads the whole message for each
    chunk. True when it analysed."""
    if db.engine.dialect.name != "postgresql" or added <= ANALYZE_BASE_ROWS:
        return False
    known = db.session.scalar(
        text("SELECT reltuples FROM pg_class WHERE oid = CAST(:table AS regclass)"),
        {"table": table.name},
    )
    if added <= ANALYZE_BASE_ROWS + ANALYZE_SHARE * max(known, 0):
        db.session.rollback()
        return False
    db.session.execute(text(f"ANALYZE {table.name}"))
    db.session.commit()
    return True


def locked(model, *where):
    """The one row of `model` matching `where`, locked until the transaction ends
    (`SELECT … FOR UPDATE`; SQLite's write transaction already excludes other writers)
    and read as committed now, not from the session's cache; None when there is none."""
    return db.session.execute(
        db.select(model).where(*where).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()


def upsert(table):
    """`INSERT … ON CONFLICT` for the session's database (both dialects have one, with
    `on_conflict_do_update` and `excluded`; SQLAlchemy's core `insert` has neither)."""
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)
