"""The worker entry: `python -m jobs.worker` (an RQ worker with its scheduler)
and `python -m jobs.worker cron` (RQ's cron scheduler for `jobs.cron`).

Jobs run inside an application context provided by the job class, so job
modules never create one at import time. They run in the worker process itself (RQ's
`SimpleWorker`), not in a work horse forked per job: a send batch then starts at once
on the worker's open database connection and its provider client's keep-alive (and, in
production, TLS) connection, where a horse spent 40–75 ms on new ones before its first
SMS. Job timeouts still hold (SIGALRM); a job that crashes the interpreter takes the
worker with it, and `reconcile` hands its recipients to another once their lease runs
out, as for any killed worker.
"""

import argparse
import gc
import logging

from rq import SimpleWorker
from rq.cron import CronScheduler
from rq.job import Job

from portal import create_app, logs
from portal.extensions import db
from portal.messaging.recorder import settle
from portal.queue import QUEUE_NAMES, get_queue, redis_connection

CRON_MODULE = "jobs.cron"


class AppJob(Job):
    """A job that runs inside the application context of `app`."""

    app = None

    def perform(self):
        with self.app.app_context():
            try:
                return super().perform()
            finally:
                db.session.remove()


def job_class_for(app):
    return type("AppJob", (AppJob,), {"app": app})


class PortalWorker(SimpleWorker):
    """RQ's SimpleWorker that, when it stops, waits for the last chunk a send job left
    recording (`portal.messaging.recorder`)."""

    def work(self, *args, **kwargs):
        try:
            return super().work(*args, **kwargs)
        finally:
            settle(self.job_class.app)


def build_worker(app, **options):
    """A worker on every portal queue, highest priority first, running jobs in `app`."""
    with app.app_context():
        queues = [get_queue(name) for name in QUEUE_NAMES]
        return PortalWorker(
            queues, connection=redis_connection(), job_class=job_class_for(app), **options
        )


def run_cron(app):
    with app.app_context():
        scheduler = CronScheduler(connection=redis_connection())
    scheduler.load_config_from_file(CRON_MODULE)
    scheduler.start()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m jobs.worker")
    parser.add_argument("mode", nargs="?", choices=("work", "cron"), default="work")
    parser.add_argument("--burst", action="store_true", help="stop when the queues are empty")
    args = parser.parse_args(argv)
    logs.install(level=logging.INFO)  # masked from the first line; JSON once production is known
    app = create_app()
    if args.mode == "cron":
        run_cron(app)
        return
    with app.app_context():
        db.engine.dispose()
    worker = build_worker(app)
    settle_heap()
    worker.work(burst=args.burst, with_scheduler=True)


def settle_heap():
    """Leave what start-up made (modules, the app, its mappers: some 150,000 objects)
    out of the collector's full passes from now on. A send of 10,000 SMS ran three of
    them, 55-80 ms each over that heap; after this, 20-30 ms."""
    gc.collect()
    gc.freeze()


if __name__ == "__main__":
    main()
