"""Money-moving transactions hold the write lock from their first statement."""

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from portal.database import analyze_if_grown, write_transaction
from portal.extensions import db
from portal.models import Organisation, Recipient, SmsStatus
from tests.conftest import fresh


@pytest.fixture
def other_connection(app):
    """A second, independent connection that refuses to wait for locks."""
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 0}, isolation_level=None)
    else:
        engine = create_engine(url)
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def test_write_transaction_locks_out_other_writers(app, make, other_connection):
    org = make.org()
    with write_transaction():
        row = db.session.execute(
            db.select(Organisation).where(Organisation.id == org.id).with_for_update()
        ).scalar_one()
        with pytest.raises(OperationalError):
            if db.engine.dialect.name == "sqlite":
                other_connection.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                other_connection.execute(
                    text("SELECT id FROM organisations WHERE id = :id FOR UPDATE NOWAIT"),
                    {"id": org.id},
                )
        row.sms_status = SmsStatus.DEACTIVATED
    assert fresh(org).sms_status == SmsStatus.DEACTIVATED


def test_write_transaction_rolls_back_on_error(app, make):
    org = make.org(sms=SmsStatus.ACTIVE)
    with pytest.raises(RuntimeError), write_transaction():
        db.session.get(Organisation, org.id).sms_status = SmsStatus.DEACTIVATED
        db.session.flush()
        raise RuntimeError("the invoice could not be created")
    assert fresh(org).sms_status == SmsStatus.ACTIVE


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(app):
    if db.engine.dialect.name != "sqlite":
        assert db.engine.dialect.name == "postgresql"
        return
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_statistics_are_refreshed_when_an_insert_outgrows_them(app):
    """PostgreSQL analyses a table at once when more rows were added than autovacuum's
    rule allows (50 and a tenth of the table); SQLite plans without statistics."""
    table = Recipient.__table__
    postgresql = db.engine.dialect.name == "postgresql"
    if postgresql:
        db.session.execute(text("ANALYZE recipients"))  # empty: its statistics know 0 rows
        db.session.commit()
    assert analyze_if_grown(table, 50) is False
    assert analyze_if_grown(table, 51) is postgresql
    assert not db.session().in_transaction()
