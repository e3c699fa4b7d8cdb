"""What the operations page shows, read from RQ's own registries and the database.

Nothing here shows message texts or addresses: failed jobs are described by their
function and ids, with numbers and e-mail addresses masked like in the logs.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

from rq import Queue, Worker
from rq.exceptions import DeserializationError
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.results import Result
from sqlalchemy import func

from portal.extensions import db
from portal.logs import mask_text
from portal.models import Message, MessageStatus, Organisation
from portal.queue import QUEUE_NAMES, redis_connection
from portal.recipients.frozen import recipient_counts

FAILED_JOBS_SHOWN = 50
MESSAGES_SHOWN = 50
ERROR_SHOWN_CHARS = 300
JOB_ID = re.compile(r"[\w.:-]{1,200}")
IN_PROGRESS = (MessageStatus.QUEUED, MessageStatus.SENDING)


@dataclass(frozen=True)
class QueueDepth:
    name: str
    queued: int
    started: int
    scheduled: int
    deferred: int
    failed: int


@dataclass(frozen=True)
class FailedJob:
    id: str
    queue: str
    description: str
    failed_at: datetime | None
    error: str


@dataclass
class MessageProgress:
    id: int
    organisation: str
    status: MessageStatus
    created_at: datetime
    counts: dict = field(default_factory=dict)

    def count(self, *statuses):
        return sum(self.counts.get(status, 0) for status in statuses)


def queue_depths():
    connection = redis_connection()
    depths = []
    for name in QUEUE_NAMES:
        queue = Queue(name, connection=connection)
        depths.append(
            QueueDepth(
                name=name,
                queued=queue.count,
                started=queue.started_job_registry.count,
                scheduled=queue.scheduled_job_registry.count,
                deferred=queue.deferred_job_registry.count,
                failed=queue.failed_job_registry.count,
            )
        )
    return depths


def worker_count():
    return Worker.count(connection=redis_connection())


def failed_jobs(limit=FAILED_JOBS_SHOWN):
    """The most recently failed jobs of every portal queue, newest first."""
    connection = redis_connection()
    found = []
    for name in QUEUE_NAMES:
        registry = FailedJobRegistry(name, connection=connection)
        ids = registry.get_job_ids(0, limit - 1, desc=True)
        for job in Job.fetch_many(ids, connection=connection):
            if job is not None:
                found.append(_describe(job, name))
    found.sort(key=lambda job: job.failed_at.timestamp() if job.failed_at else 0, reverse=True)
    return found[:limit]


def requeue_failed(job_id):
    """Put a failed job back on its queue; its queue name, or None if it is not failed."""
    connection = redis_connection()
    for name in QUEUE_NAMES:
        registry = FailedJobRegistry(name, connection=connection)
        if job_id in registry:
            registry.requeue(job_id)
            return name
    return None


def _describe(job, queue):
    result = job.latest_result()
    error = ""
    if result is not None and result.type == Result.Type.FAILED and result.exc_string:
        error = result.exc_string.strip().splitlines()[-1]
    return FailedJob(
        id=job.id,
        queue=queue,
        description=mask_text(f"{job.func_name}{_arguments(job)}"),
        failed_at=job.ended_at,
        error=mask_text(error)[:ERROR_SHOWN_CHARS],
    )


def _arguments(job):
    """The job's arguments when they are plain ids and flags (our jobs take ids, never objects)."""
    try:
        args = job.args
    except DeserializationError:  # a job of an older release must not break the page
        return "(…)"
    if all(isinstance(arg, int | str | bool) for arg in args):
        return "(" + ", ".join(repr(arg) for arg in args) + ")"
    return "(…)"


def messages_in_progress(limit=MESSAGES_SHOWN):
    """Queued and sending messages of every organisation, oldest first, with their
    recipients counted by status (a frozen list not yet dispatched counts as pending);
    and how many there are in all."""
    total = db.session.scalar(
        db.select(func.count()).select_from(Message).where(Message.status.in_(IN_PROGRESS))
    )
    rows = db.session.execute(
        db.select(Message.id, Organisation.name, Message.status, Message.created_at)
        .join(Organisation, Organisation.id == Message.organisation_id)
        .where(Message.status.in_(IN_PROGRESS))
        .order_by(Message.created_at, Message.id)
        .limit(limit)
    ).all()
    progress = {row.id: MessageProgress(*row) for row in rows}
    if progress:
        counts = db.session.execute(recipient_counts(list(progress)))
        for message_id, _channel, status, number in counts:
            counted = progress[message_id].counts
            counted[status] = counted.get(status, 0) + number
    return list(progress.values()), total
