"""Periodic jobs, registered with RQ's own cron scheduler (`rq.cron.register`).

One scheduler runs per deployment: `python -m jobs.worker cron`, or
`rq cron jobs.cron --url $REDIS_URL`. Each registration names a job function,
its queue and its interval or cron expression; a worker runs it like any other
job. Features that need periodic work add their registration here.
"""

from rq import cron

from jobs.maintenance import reconcile, report_overdue_orders
from jobs.retention import erase_finished_messages
from portal.messaging.attachments import delete_stale_uploads

cron.register(report_overdue_orders, "default", interval=900)
cron.register(reconcile, "default", interval=60)
cron.register(delete_stale_uploads, "default", interval=3600)
cron.register(erase_finished_messages, "default", cron="30 2 * * *", job_timeout=3600)
