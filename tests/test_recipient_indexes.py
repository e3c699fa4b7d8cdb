"""The statements that run once per chunk, per batch or per delivery report find their
recipient rows through the index made for them, whatever the planner knows of the
table: a claim reads its batch, not every pending row of the message; the finish check
finds an open row without passing the sent ones; a report finds its SMS id."""

from contextlib import contextmanager

import pytest
from sqlalchemy import event, text, update

from jobs.sending import dispatch
from portal.extensions import db
from portal.messaging.batches import claim, finish_if_done
from portal.models import Channel, Recipient, RecipientStatus
from portal.sms.delivery import apply_deliveries

pytestmark = pytest.mark.usefixtures("app")


@contextmanager
def statements_run():
    """The (SQL, parameters) of every statement run inside the block."""
    seen = []

    def keep(_connection, _cursor, statement, parameters, _context, _executemany):
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)


def plan(statement, parameters):
    """The database's plan for a statement, as text (not run)."""
    sqlite = db.engine.dialect.name == "sqlite"
    explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
    with db.engine.connect() as connection:
        rows = connection.exec_driver_sql(explain + statement, parameters).all()
    return "\n".join(str(row[-1]) for row in rows)


def the_one(seen, start, containing):
    (found,) = [
        (statement, parameters)
        for statement, parameters in seen
        if statement.startswith(start) and containing in statement
    ]
    return found


def test_a_claim_reads_its_batch_through_the_batch_index(sending, make_app):
    """As in a first large send: the table's statistics predate the message, and the
    batches are the default size."""
    db.session.execute(text("ANALYZE recipients"))
    db.session.commit()
    message = sending.message(recipients=5000, frozen=True)
    with make_app(**{**sending.overrides, "SMS_BATCH_SIZE": 250}).app_context():
        dispatch(message.id)
        with statements_run() as seen:
            claimed = claim(message.id, Channel.SMS, 15, 100)
        assert len(claimed) == 100
        claim_plan = plan(*the_one(seen, "UPDATE recipients", "batch_no"))
    assert "ix_recipients_batch" in claim_plan
    assert "ix_recipients_message_status" not in claim_plan


def test_a_delivery_report_finds_its_sms_through_the_provider_id_index(sending):
    sending.message(recipients=3)
    with statements_run() as seen:
        apply_deliveries({"s1": "delivered", "s2": "failed"})
    db.session.rollback()
    for statement, parameters in seen:
        assert "ix_recipients_provider_id" in plan(statement, parameters)
    assert len(seen) == 2


def test_the_finish_check_asks_the_status_index_when_most_rows_are_sent(sending, make_app):
    """Statistics from the dispatch say every row is open; by the last batches most are
    sent, and reading the table from its start would pass them all."""
    message = sending.message(recipients=5000, frozen=True)
    with make_app(**{**sending.overrides, "SMS_BATCH_SIZE": 250}).app_context():
        dispatch(message.id)
        db.session.execute(text("ANALYZE recipients"))
        db.session.execute(
            update(Recipient).where(Recipient.batch_no < 19).values(status=RecipientStatus.SENT)
        )
        db.session.commit()
        with statements_run() as seen:
            assert finish_if_done(message.id) is False
        check_plan = plan(*the_one(seen, "SELECT recipients.id", "recipients.status IN"))
    assert "ix_recipients_message_status" in check_plan
    assert "Seq Scan" not in check_plan and "SCAN recipients" not in check_plan
