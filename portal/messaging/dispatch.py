"""Handing a confirmed message to the workers. The web process names the job by its
path, so it never imports the worker's code (jobs/sending.py)."""

import logging

from redis.exceptions import RedisError

from portal.queue import enqueue

logger = logging.getLogger(__name__)

DISPATCH = "jobs.sending.dispatch"
QUEUE = "sending"


def dispatch_job_id(message_id: int) -> str:
    return f"dispatch-{message_id}"


def queue_dispatch(message_id: int):
    """Enqueue the message's dispatch job once (a waiting or running one is kept)."""
    return enqueue(DISPATCH, message_id, job_id=dispatch_job_id(message_id), queue=QUEUE)


def start_sending(message_id: int) -> None:
    """Queue the dispatch of a just-confirmed message. Should Redis be unreachable, the
    message is safe in the database and `reconcile` dispatches it within a minute."""
    try:
        queue_dispatch(message_id)
    except RedisError as error:
        logger.warning("Could not queue message %d for sending now: %s", message_id, error)
