from datetime import timedelta

from flask import request
from sqlalchemy import or_

from portal.audit import bp
from portal.audit.forms import AuditFilterForm
from portal.audit.labels import action_label, actor_label, details
from portal.billing.invoices import stockholm_midnight
from portal.extensions import db
from portal.htmx import render
from portal.models import AuditEvent, Organisation, Person, Role
from portal.security import role_required

PER_PAGE = 50


@bp.get("/admin/audit")
@role_required(Role.OPERATOR)
def log():
    form = AuditFilterForm(request.args)
    if not form.validate():
        return render("audit/log.html", form=form, results=None, status=422)
    page = db.paginate(
        filtered_events(form), per_page=PER_PAGE, max_per_page=PER_PAGE, error_out=False
    )
    return render(
        "audit/log.html",
        form=form,
        results=page,
        organisations=_organisation_names({event.organisation_id for event in page.items}),
        filters=form.filters,
        action_label=action_label,
        actor_label=actor_label,
        details=details,
    )


def filtered_events(form):
    """Events matching the validated filters, newest first. Dates are whole days in
    Stockholm time; the actor matches part of a name or e-mail address, never of a
    person with protected identity."""
    query = db.select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if form.organisation_id is not None:
        query = query.where(AuditEvent.organisation_id == form.organisation_id)
    if form.action.data:
        query = query.where(AuditEvent.action == form.action.data)
    if form.actor.data:
        query = query.where(AuditEvent.actor_id.in_(_actors_matching(form.actor.data)))
    if form.since.day:
        query = query.where(AuditEvent.at >= stockholm_midnight(form.since.day))
    if form.until.day:
        query = query.where(AuditEvent.at < stockholm_midnight(form.until.day + timedelta(days=1)))
    return query


def _actors_matching(text):
    full_name = Person.given_name + " " + Person.family_name
    return db.select(Person.id).where(
        Person.protected_identity.is_(False),
        or_(
            Person.email.icontains(text, autoescape=True),
            full_name.icontains(text, autoescape=True),
        ),
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
