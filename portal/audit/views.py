from flask import request

from portal.audit import bp
from portal.audit.forms import AuditFilterForm
from portal.audit.labels import action_label, actor_label, details
from portal.extensions import db
from portal.htmx import render
from portal.models import AuditEvent, Organisation, Role
from portal.security import role_required

PER_PAGE = 50


@bp.get("/admin/audit")
@role_required(Role.OPERATOR)
def log():
    form = AuditFilterForm(request.args)
    if not form.validate():
        return render("audit/log.html", form=form, results=None, status=422)
    query = db.select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if form.organisation_id is not None:
        query = query.where(AuditEvent.organisation_id == form.organisation_id)
    if form.action.data:
        query = query.where(AuditEvent.action == form.action.data)
    page = db.paginate(query, per_page=PER_PAGE, max_per_page=PER_PAGE, error_out=False)
    return render(
        "audit/log.html",
        form=form,
        results=page,
        organisations=_organisation_names({event.organisation_id for event in page.items}),
        filters={
            "organisation": form.organisation.data or None,
            "action": form.action.data or None,
        },
        action_label=action_label,
        actor_label=actor_label,
        details=details,
    )


def _organisation_names(ids):
    ids = {org_id for org_id in ids if org_id is not None}
    if not ids:
        return {}
    return dict(
        db.session.execute(
            db.select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))
        ).all()
    )
