"""Sending a confirmed message (issue #7): one dispatch job, then one job per batch.

`dispatch(message_id)` numbers the frozen recipients into batches of SMS_BATCH_SIZE and
enqueues `send_batch` for each (job ids `send-<message>-<channel>-<batch>`). A batch job
claims SMS_CHUNK_SIZE recipients at a time, offers them to the provider (SMS) or the
mail server (e-mail) with no database transaction open, then records the answers and
bills the accepted SMS parts in one short transaction, in a thread of its own while the
next chunk is sent (`portal.messaging.recorder`). When the next job in the queue is
the same message's next batch, the job takes it off the queue and sends that batch too
(for up to GO_ON_SECONDS): the work RQ would run next, without the 10-20 ms a job of its
own costs to start and finish. It looks while the batch's last chunk is sent, claiming
the next batch's first chunk then, so that sending goes straight on. The last chunk,
when nothing waits for a retry, goes on recording after the job has ended, and then
finishes the message, while the worker starts its next job. One chunk recorded and one
sent are the most a killed worker can leave sent-but-unrecorded (and so send twice
after `reconcile`).

Transient errors defer a recipient with backoff; short waits are slept through in the
job, longer ones scheduled as a new job for the same batch while the job goes on.
Permanent errors fail the recipient at once with the provider's reason, unbilled.
"""

import logging
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload, selectinload

from portal.database import run_core
from portal.extensions import db
from portal.messaging import batches
from portal.messaging.batches import Claimed, MessageFacts, deferred, failed, released, sent
from portal.messaging.dispatch import QUEUE
from portal.messaging.email import Deferred, DeliveryInterrupted, deliver_emails
from portal.messaging.recorder import Recorder
from portal.models import Attachment, Channel, Message, Organisation, RecipientStatus
from portal.models.base import utcnow
from portal.operations.metrics import record_provider_calls
from portal.queue import enqueue, get_queue, take_next_job
from portal.sms.delivery import apply_deliveries, take_early_reports
from portal.sms.providers import delivery_callback_url, get_provider, sender_for
from portal.sms.providers.base import Outgoing, PermanentError, TransientError
from portal.sms.rate import send_rate
from portal.sms.text import count

logger = logging.getLogger(__name__)

SLEEP_THROUGH_SECONDS = 5
GO_ON_SECONDS = 30
BATCH_TIMEOUT = 3600
MAIL_UNAVAILABLE = _l("E-postservern svarade inte; försöker igen.")


def dispatch(message_id: int) -> int:
    """Number the message's recipients into batches and enqueue one job per batch.
    Safe to run again: numbered recipients keep their batch, queued jobs are not doubled.
    Returns how many batch jobs were enqueued."""
    if not batches.start(message_id):
        return 0
    open_ = batches.open_batches(message_id)
    db.session.rollback()
    for channel, batch_no in open_:
        enqueue_batch(message_id, channel, batch_no)
    if not open_:
        batches.finish_if_done(message_id)
    return len(open_)


def enqueue_batch(message_id: int, channel: Channel, batch_no: int, at=None, lapsed=None):
    """Queue the batch's job: now (`send-<message>-<channel>-<batch>`, once while it
    waits or runs), at `at` for deferred recipients, or to take over the recipients of a
    worker whose lease `lapsed` (an id of its own: the dead worker's job still looks
    started to RQ)."""
    job_id = f"send-{message_id}-{channel}-{batch_no}"
    args = (send_batch, message_id, str(channel), batch_no)
    if at is not None:
        return get_queue(QUEUE).enqueue_at(
            at, *args, job_id=f"{job_id}-at-{int(at.timestamp())}", job_timeout=BATCH_TIMEOUT
        )
    if lapsed is not None:
        job_id = f"{job_id}-lapsed-{int(lapsed.timestamp())}"
    return enqueue(*args, job_id=job_id, queue=QUEUE, timeout=BATCH_TIMEOUT)


def send_batch(message_id: int, channel: str, batch_no: int) -> int:
    """Send what is claimable in one batch, chunk by chunk, then go on with the
    message's next batches for as long as the next job in the queue is one of them
    (for up to GO_ON_SECONDS); returns how many recipients it handled. A batch whose
    deferred recipients are due later is scheduled again on its own. The job ends by
    marking the message done or, when its last chunk needs nothing more of it, by
    leaving that chunk recording and the message to be finished after it."""
    channel = Channel(channel)
    facts = _facts(message_id, channel)
    until = time.monotonic() + GO_ON_SECONDS
    size = current_app.config["SMS_CHUNK_SIZE"]
    handled, first = 0, None
    with Recorder() as recorder:
        while True:
            going_on = time.monotonic() < until
            count, last, due, ahead = _send_batch(
                facts, channel, batch_no, recorder, first, going_on
            )
            handled += count
            if due is not None:
                enqueue_batch(message_id, channel, batch_no, at=due)
            if ahead is not None:
                following, first = ahead.batch_no, ahead.rows
            else:
                following, first = (_next_batch(facts.id, channel) if going_on else None), None
            if following is None:
                break
            if last is not None:  # claiming the next batch's second chunk, if it has one
                limit = size if first is not None and len(first) == size else 0
                recorder.start(_record, facts, *last, channel, following, limit)
            batch_no = following
        if last is not None:
            recorder.leave(_record_last, facts, *last, channel, batch_no)
            return handled
    batches.finish_if_done(message_id)
    return handled


@dataclass(frozen=True)
class Ahead:
    """What the recorder found while a batch's last chunk was sent: when the batch's
    deferred recipients are next due (None: none wait), and the message's next batch,
    its job taken off the queue, with its first chunk claimed (None: other work is
    next)."""

    due: datetime | None
    batch_no: int | None
    rows: list[Claimed]


def _send_batch(
    facts: MessageFacts,
    channel: Channel,
    batch_no: int,
    recorder: Recorder,
    first: list[Claimed] | None = None,
    going_on: bool = False,
):
    """Send the batch until none of its recipients is due within SLEEP_THROUGH_SECONDS,
    starting with `first` when its first chunk was claimed ahead. Returns how many were
    handled, the last chunk if it is not yet recorded (outcomes, lease; only when
    nothing waits for a retry), when the deferred recipients are next due (None: none
    wait), and the next batch if it was taken meanwhile (`going_on`: the job may take
    one)."""
    handled, ahead = 0, None
    while True:
        count, last, found = _send_claimable(
            facts, channel, batch_no, recorder, first, going_on and ahead is None
        )
        handled, first, ahead = handled + count, None, ahead or found
        if last is not None and found is not None:
            due = found.due  # looked up once every chunk before the last was recorded
        else:
            due = batches.next_retry(facts.id, channel, batch_no)
            db.session.rollback()
        if due is None:
            return handled, last, None, ahead
        if last is not None:
            recorder.start(_record, facts, *last, channel, batch_no, 0)
            recorder.collect()
        wait = (due - utcnow()).total_seconds()
        if wait > SLEEP_THROUGH_SECONDS:
            return handled, None, due, ahead
        time.sleep(max(wait, 0))


def _next_batch(message_id: int, channel: Channel) -> int | None:
    """The message's batch whose job is next in the queue, taken off it; None if the
    next job is other work. What RQ would have run next, run without a job of its own
    to start and finish; a worker that dies meanwhile leaves the batch's recipients to
    `reconcile`, as it does the batch it was started with."""
    batch_no = take_next_job(QUEUE, f"send-{message_id}-{channel}-")
    if batch_no is not None:
        logger.info("The send job goes on with batch %d of message %d", batch_no, message_id)
    return batch_no


def _send_claimable(
    facts: MessageFacts,
    channel: Channel,
    batch_no: int,
    recorder: Recorder,
    first: list[Claimed] | None = None,
    looking_ahead: bool = False,
):
    """Send the batch's claimable recipients a chunk at a time, two chunks claimed: the
    first is claimed alone (or was, ahead: `first`, the recorder then claiming the
    second), the second while the first is sent, and each is recorded (claiming the one
    after next) while the next is sent. A claim that comes back short has emptied the
    batch, so the chunks after it are recorded without claiming, unless one hands
    recipients back untried; the one recorded while the last is sent also looks ahead
    (`looking_ahead`): the batch's next retry, and the next batch's first chunk.

    Returns how many were handled, the (outcomes, lease) of a last chunk that defers
    nobody, not yet recorded (or None when all are), and what was found ahead."""
    send_chunk = _send_sms if channel == Channel.SMS else _send_emails
    size = current_app.config["SMS_CHUNK_SIZE"]
    ready = deque()
    if first is None:
        more = _queue(ready, batches.claim(facts.id, channel, batch_no, size), size)
        recorder.collect()  # the last chunk of the batch before, recorded meanwhile
        if more:
            recorder.start(batches.claim, facts.id, channel, batch_no, size)
    else:
        more = _queue(ready, first, size)
    handled, ahead, looked_ahead = 0, None, False
    while ready:
        rows = ready.popleft()
        outcomes = send_chunk(facts, rows)
        handled += len(rows)
        collected = recorder.collect()
        if looked_ahead:
            ahead, looked_ahead = collected, False
        elif collected is not None:
            more = _queue(ready, collected, size)
        pending = any(outcome.status == RecipientStatus.PENDING for outcome in outcomes)
        if not (ready or more or pending):
            return handled, (outcomes, rows[0].lease), ahead
        limit = size if more or any(not outcome.tried for outcome in outcomes) else 0
        if ready and not limit and looking_ahead and ahead is None:
            recorder.start(_record_looking_ahead, facts, outcomes, rows[0].lease, channel, batch_no)
            looked_ahead = True
            continue
        recorder.start(_record, facts, outcomes, rows[0].lease, channel, batch_no, limit)
        if not ready:
            more = _queue(ready, recorder.collect(), size)
    return handled, None, ahead


def _queue(ready: deque, claimed: list[Claimed], size: int) -> bool:
    """Queue what a claim of `size` rows took as the next chunk; True when it came back
    full, so the batch may hold more."""
    if claimed:
        ready.append(claimed)
    return len(claimed) == size


def _record(facts: MessageFacts, outcomes, lease, channel: Channel, batch_no: int, limit: int):
    """In the recorder's thread: store and bill the chunk (claimed with `lease`: every
    chunk is part of one claim) and claim up to `limit` more of batch `batch_no`, then
    apply the delivery reports that arrived before the chunk was stored."""
    claimed = batches.record(facts, outcomes, lease, channel, batch_no, limit)
    if channel == Channel.SMS:
        _apply_early_reports(outcomes)
    return claimed


def _record_looking_ahead(facts: MessageFacts, outcomes, lease, channel: Channel, batch_no: int):
    """In the recorder's thread, while the batch's last chunk is sent: record this one,
    then look up the batch's next retry and take the message's next batch, if its job
    is next in the queue, claiming its first chunk: the job goes on at once."""
    _record(facts, outcomes, lease, channel, batch_no, 0)
    due = batches.next_retry(facts.id, channel, batch_no)
    db.session.rollback()
    following = _next_batch(facts.id, channel)
    if following is None:
        return Ahead(due, None, [])
    size = current_app.config["SMS_CHUNK_SIZE"]
    return Ahead(due, following, batches.claim(facts.id, channel, following, size))


def _record_last(facts: MessageFacts, outcomes, lease, channel: Channel, batch_no: int):
    """In the recorder's thread, after the job has ended: record its last chunk, then
    mark the message done if no recipient of it is left."""
    _record(facts, outcomes, lease, channel, batch_no, 0)
    batches.finish_if_done(facts.id)


def _facts(message_id: int, channel: Channel) -> MessageFacts:
    row = run_core(_FACTS, {"p_message": message_id}).one()
    db.session.rollback()
    return MessageFacts(
        id=row.id,
        organisation_id=row.organisation_id,
        text=row.subject,
        sender=sender_for(row) if channel == Channel.SMS else "",
        created_at=row.created_at,
    )


_FACTS = (
    select(
        Message.id,
        Message.organisation_id,
        Message.subject,
        Message.created_at,
        Organisation.sms_sender,
    )
    .join(Organisation, Organisation.id == Message.organisation_id)
    .where(Message.id == bindparam("p_message"))
)


def _send_sms(facts: MessageFacts, rows: list[Claimed]):
    """Offer each row's SMS to the provider at the allowed rate. A 429 pauses every
    worker for Retry-After and hands the rest of the chunk back untried. The time
    measured for the provider's statistics is the provider's: not the waits for the
    rate's permits, which grow with the number of workers sharing it."""
    provider = get_provider()
    rate = send_rate()
    callback = delivery_callback_url()
    expected = count(facts.text).segments
    outcomes, errors, spent, position = [], 0, 0.0, 0
    for size in rate.slices(len(rows)):
        rate.acquire(size)
        started = time.monotonic()
        for row in rows[position : position + size]:
            position += 1
            try:
                accepted = provider.send(Outgoing(row.address, facts.sender, facts.text, callback))
            except PermanentError as error:
                errors += 1
                outcomes.append(failed(row.id, error.reason))
            except TransientError as error:
                errors += 1
                outcomes.append(deferred(row, error.reason, facts.created_at, error.retry_after))
                if error.retry_after is not None:
                    rate.pause(error.retry_after)
                    outcomes.extend(released(rest.id) for rest in rows[position:])
                    return _measured(outcomes, errors, spent + time.monotonic() - started)
            else:
                if accepted.parts != expected:
                    logger.warning(
                        "Provider billed %d parts for message %d, we count %d",
                        accepted.parts,
                        facts.id,
                        expected,
                    )
                outcomes.append(sent(row.id, accepted.provider_id, accepted.parts))
        spent += time.monotonic() - started
    return _measured(outcomes, errors, spent)


def _measured(outcomes, errors, seconds):
    tried = sum(outcome.tried for outcome in outcomes)
    record_provider_calls(tried, errors, seconds)
    return outcomes


def _send_emails(facts: MessageFacts, rows: list[Claimed]):
    """Send the chunk's e-mails over one connection. Refused addresses fail; temporary
    refusals, and the addresses not reached when the connection broke, are deferred."""
    message = _detached_for_mail(facts.id)
    try:
        answers = deliver_emails(message, [row.address for row in rows])
    except DeliveryInterrupted as interrupted:
        logger.warning("Mail delivery for message %d broke off: %s", facts.id, interrupted)
        answers = interrupted.results + [Deferred(MAIL_UNAVAILABLE)] * len(rows)
    return [_mail_outcome(facts, row, answer) for row, answer in zip(rows, answers, strict=False)]


def _detached_for_mail(message_id: int) -> Message:
    """The message with everything its e-mail shows loaded, detached from the session so
    that no transaction stays open while the mail server is talked to."""
    message = db.session.scalars(
        select(Message)
        .where(Message.id == message_id)
        .options(
            joinedload(Message.organisation),
            joinedload(Message.author),
            selectinload(Message.attachments).undefer(Attachment.data),
        )
    ).one()
    db.session.expunge_all()
    db.session.rollback()
    return message


def _mail_outcome(facts, row, answer):
    if answer is None:
        return sent(row.id)
    if isinstance(answer, Deferred):
        return deferred(row, str(answer), facts.created_at)
    return failed(row.id, answer)


def _apply_early_reports(outcomes):
    """Delivery reports that arrived before the chunk was recorded."""
    ids = [outcome.provider_id for outcome in outcomes if outcome.provider_id]
    reports = take_early_reports(ids)
    if reports:
        apply_deliveries(reports)
        db.session.commit()
