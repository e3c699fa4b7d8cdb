from flask import abort, flash, redirect, url_for
from flask_babel import format_percent
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.database import write_transaction
from portal.htmx import render
from portal.messaging.views import STATUS_LABELS
from portal.models import Role
from portal.models.audit import record
from portal.operations import bp, status
from portal.operations.metrics import provider_stats
from portal.orders.overdue import late_orders
from portal.security import role_required

QUEUE_LABELS = {"sending": _l("Utskick"), "mail": _l("E-post"), "default": _l("Övrigt")}


@bp.get("/admin/operations")
@role_required(Role.OPERATOR)
def page():
    messages, messages_total = status.messages_in_progress()
    return render(
        "operations/page.html",
        queues=status.queue_depths(),
        workers=status.worker_count(),
        failed=status.failed_jobs(),
        provider=provider_stats(minutes=60),
        messages=messages,
        messages_total=messages_total,
        late=late_orders(),
        queue_labels=QUEUE_LABELS,
        message_status_labels=STATUS_LABELS,
        percent=_percent,
    )


@bp.post("/admin/operations/failed/<job_id>/retry")
@role_required(Role.OPERATOR)
def retry(job_id):
    if not status.JOB_ID.fullmatch(job_id):
        abort(404)
    queue = status.requeue_failed(job_id)
    if queue is None:
        flash(_("Jobbet finns inte längre bland de misslyckade. Det kan redan köras igen."), "info")
        return redirect(url_for("operations.page"), code=303)
    with write_transaction():
        record("job.requeued", actor=current_user, job=job_id, queue=queue)
    flash(_("Jobbet %(job)s ligger i kön igen.", job=job_id), "success")
    return redirect(url_for("operations.page"), code=303)


def _percent(share):
    return format_percent(share or 0, "#,##0.0\u00a0%")
