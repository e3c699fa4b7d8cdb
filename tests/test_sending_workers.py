"""The sending pipeline with real worker processes (`python -m jobs.worker`): four at
once across many package boundaries, and one killed with SIGKILL in the middle of a
batch. Run on PostgreSQL in CI (row locks) and on SQLite (the write lock)."""

import time

import pytest

from jobs.maintenance import reconcile
from jobs.sending import dispatch
from jobs.worker import build_worker
from portal.extensions import db
from portal.models import Invoice, RecipientStatus, SmsPackage, UsageEntry
from tests import workers
from tests.test_sending import billed, statuses

WAIT_SECONDS = 120


def wait_for(condition, what):
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out waiting for {what}", pytrace=False)
        time.sleep(0.05)


def test_four_workers_open_and_invoice_each_package_exactly_once(sending, settings, tmp_path):
    size, recipients = 7, 120
    text = "Utvecklingssamtal " * 10
    message = sending.message(recipients=recipients, text=text)
    db.session.execute(db.update(SmsPackage).values(size=size))
    db.session.commit()
    dispatch(message.id)

    log = tmp_path / "workers.log"
    processes = [
        workers.start(settings, log, "--burst", **sending.overrides, SMS_PACKAGE_SIZE=size)
        for _ in range(4)
    ]
    for process in processes:
        assert process.wait(WAIT_SECONDS) == 0, log.read_text()

    units = recipients * 2
    assert statuses(message) == {RecipientStatus.SENT: recipients}
    assert sending.server.count == recipients
    packages = db.session.scalars(db.select(SmsPackage).order_by(SmsPackage.sequence)).all()
    assert [p.sequence for p in packages] == list(range(1, units // size + 2))
    assert all(p.used == p.size == size for p in packages[:-1])
    assert [p.closed_at is None for p in packages].count(True) == 1
    assert sum(p.used for p in packages) == units == billed(message)
    invoices = db.session.scalars(db.select(Invoice)).all()
    assert sorted(i.package_id for i in invoices) == sorted(p.id for p in packages)
    assert len({i.number for i in invoices}) == len(packages)
    ledger = db.session.execute(
        db.select(UsageEntry.package_id, db.func.sum(UsageEntry.units)).group_by(
            UsageEntry.package_id
        )
    ).all()
    assert dict(ledger) == {p.id: p.used for p in packages}


def test_a_worker_killed_mid_batch_loses_no_recipient(sending, settings, tmp_path):
    recipients, chunk = 40, sending.app.config["SMS_CHUNK_SIZE"]
    message = sending.message(recipients=recipients)
    sending.server.delay_next(0.05, n=recipients)
    dispatch(message.id)

    log = tmp_path / "worker.log"
    worker = workers.start(settings, log, **sending.overrides, SMS_LEASE_SECONDS=1)
    wait_for(lambda: sending.server.count >= 6, "the worker to send a few SMS")
    workers.kill(worker)
    sent_before = sending.server.count
    time.sleep(1.1)  # the killed worker's lease runs out

    assert reconcile()["batches"] >= 1
    build_worker(sending.app).work(burst=True)

    assert statuses(message) == {RecipientStatus.SENT: recipients}
    counts = sending.server.counts()
    assert set(counts) == set(sending.numbers)
    duplicates = sending.server.count - recipients
    assert duplicates <= 2 * chunk, (sent_before, duplicates)  # one recorded, one sent
    assert billed(message) == recipients
