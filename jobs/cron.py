"""Periodic jobs, registered with RQ's own cron scheduler (`rq.cron.register`).

One scheduler runs per deployment: `python -m jobs.worker cron`, or
`rq cron jobs.cron --url $REDIS_URL`. Each registration names a job function,
its queue and its interval or cron expression; a worker runs it like any other
job. Features that need periodic work add their registration here.
"""

from rq import cron

from jobs.maintenance import report_overdue_orders

cron.register(report_overdue_orders, "default", interval=900)
