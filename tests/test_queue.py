"""Redis, queues and the worker: real servers, real RQ workers."""

import gc
import subprocess
import sys
import tempfile
from pathlib import Path

from redis import Redis
from rq import Queue

from jobs.worker import build_worker, settle_heap
from portal.extensions import db
from portal.models import Organisation
from portal.queue import (
    embedded_redis_url,
    enqueue,
    limits_storage_uri,
    redis_connection,
    stop_embedded_redis,
    take_next_job,
)

ROOT = Path(__file__).resolve().parent.parent


def count_organisations(label):
    """A job that needs the application: it reads the database and the config."""
    from flask import current_app

    total = db.session.scalar(db.select(db.func.count(Organisation.id)))
    return f"{label}:{total}:{current_app.config['SMS_PROVIDER']}"


def test_jobs_run_inside_the_application(app, make):
    make.org()
    job = enqueue(count_organisations, "a", job_id="count-a")
    assert build_worker(app).work(burst=True)
    job.refresh()
    assert job.return_value() == "a:1:console"


def test_the_same_work_is_queued_once(app):
    first = enqueue(count_organisations, "b", job_id="count-b")
    second = enqueue(count_organisations, "b", job_id="count-b")
    assert first.id == second.id == "count-b"
    assert Queue("default", connection=first.connection).count == 1


def test_finished_work_may_be_queued_again(app, run_jobs):
    enqueue(count_organisations, "c", job_id="count-c")
    run_jobs()
    again = enqueue(count_organisations, "c", job_id="count-c")
    assert again.is_queued


def test_the_next_job_is_taken_off_the_queue_only_when_it_is_the_one_asked_for(app):
    for job_id in ("send-1-sms-4-lapsed-17", "send-1-sms-5", "send-12-sms-6", "send-1-sms-7"):
        enqueue(count_organisations, job_id, job_id=job_id)
    queue = Queue("default", connection=redis_connection())

    assert take_next_job("default", "send-1-sms-") is None  # the next is another kind
    queue.remove("send-1-sms-4-lapsed-17")
    assert take_next_job("default", "send-1-sms-") == 5
    assert take_next_job("default", "send-1-sms-") is None  # message 12's, not 1's
    assert take_next_job("default", "send-12-sms-") == 6

    assert queue.job_ids == ["send-1-sms-7"]
    assert queue.fetch_job("send-1-sms-5") is None
    assert enqueue(count_organisations, "again", job_id="send-1-sms-5").is_queued


def test_embedded_redis_is_shared_between_processes():
    with tempfile.TemporaryDirectory(prefix="portal-") as instance:
        url = embedded_redis_url(instance)
        Redis.from_url(url).set("greeting", "hej")
        other_process = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from portal.queue import embedded_redis_url; "
                "from redis import Redis; "
                "print(Redis.from_url(embedded_redis_url(sys.argv[1])).get('greeting').decode())",
                instance,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        assert other_process.stdout.strip() == "hej"
        assert embedded_redis_url(instance) == url
        stop_embedded_redis(instance)
        assert not (Path(instance) / "redis.sock").exists()


def test_limits_storage_uri():
    assert limits_storage_uri("unix:///x/redis.sock") == "redis+unix:///x/redis.sock"
    assert limits_storage_uri("redis://127.0.0.1:6379/15") == "redis://127.0.0.1:6379/15"


def test_a_worker_leaves_its_start_up_heap_out_of_full_collections():
    kept = type("Kept", (), {})()
    assert gc.is_tracked(kept)
    try:
        settle_heap()
        assert gc.get_freeze_count() > 0
        assert not any(tracked is kept for tracked in gc.get_objects())
    finally:
        gc.unfreeze()
