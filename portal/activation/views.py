"""Operators' pages: the activation queue, an order with its inline decision, organisations.

Decisions are confirmed on a server-rendered panel: HTMX fetches it into the page, and
without JavaScript the same URL renders the whole page with the panel open. GETs only
show; the POSTs decide.
"""

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.activation import bp, decisions, organisations, queue
from portal.activation.forms import DeactivateForm, RejectForm
from portal.audit.labels import action_label, actor_label, details
from portal.billing.money import kronor
from portal.billing.packages import SmsStateUnchanged, current_package
from portal.billing.prices import NoPrice
from portal.extensions import db
from portal.htmx import is_htmx, render
from portal.models import Organisation, Role, SmsOrder
from portal.models.base import utcnow
from portal.navigation import SMS_STATUS_LABELS
from portal.orders.forms import KIND_CHOICES
from portal.people.mobile import display as display_phone
from portal.security import role_required

KIND_LABELS = {choice.value: choice.label for choice in KIND_CHOICES}


@bp.context_processor
def _helpers():
    return {"kronor": kronor, "kind_label": KIND_LABELS.get, "phone": display_phone}


@bp.get("/admin/orders", endpoint="queue")
@role_required(Role.OPERATOR)
def queue_page():
    tab = queue.tab_from(request.args.get("status"))
    page = db.paginate(
        queue.orders_in(tab),
        per_page=queue.ORDERS_PER_PAGE,
        max_per_page=queue.ORDERS_PER_PAGE,
        error_out=False,
    )
    now = utcnow()
    return render(
        "activation/queue.html",
        tab=tab,
        tabs=queue.TAB_LABELS,
        pager=page,
        promises={order.id: queue.promise(order, now) for order in page.items},
        existing=queue.organisations_by_number(page.items),
        waiting=queue.waiting_count(),
    )


@bp.get("/admin/orders/<int:order_id>", endpoint="order")
@role_required(Role.OPERATOR)
def order_page(order_id):
    return _order_page(db.get_or_404(SmsOrder, order_id))


@bp.route("/admin/orders/<int:order_id>/approve", methods=["GET", "POST"])
@role_required(Role.OPERATOR)
def approve(order_id):
    order = db.get_or_404(SmsOrder, order_id)
    if request.method == "GET":
        return _order_page(order, panel="approve")
    try:
        approval = decisions.approve(order.id, current_user)
    except decisions.AlreadyDecided as decided:
        return _refused_order(order, decided.message)
    except NoPrice as no_price:
        return _refused_order(order, str(no_price), panel="approve")
    return _done(_order_url(order), _approved_message(approval))


@bp.route("/admin/orders/<int:order_id>/reject", methods=["GET", "POST"])
@role_required(Role.OPERATOR)
def reject(order_id):
    order = db.get_or_404(SmsOrder, order_id)
    form = RejectForm()
    if request.method == "GET":
        return _order_page(order, panel="reject", form=form)
    if not form.validate():
        return _order_page(order, panel="reject", form=form, status=422)
    try:
        decisions.reject(order.id, current_user, form.reason.data)
    except decisions.AlreadyDecided as decided:
        return _refused_order(order, decided.message)
    return _done(
        _order_url(order),
        _("Beställningen är avslagen. Beställaren får ett mejl med anledningen."),
    )


@bp.get("/admin/organisations", endpoint="organisations")
@role_required(Role.OPERATOR)
def organisations_page():
    query = request.args.get("q", "")[: organisations.MAX_QUERY_LENGTH].strip()
    state = organisations.state_from(request.args.get("sms"))
    page = db.paginate(
        organisations.search(query, state),
        per_page=organisations.ORGANISATIONS_PER_PAGE,
        max_per_page=organisations.ORGANISATIONS_PER_PAGE,
        error_out=False,
    )
    return render(
        "activation/organisations.html",
        pager=page,
        query=query,
        state=state,
        states=SMS_STATUS_LABELS,
    )


@bp.get("/admin/organisations/<int:organisation_id>", endpoint="organisation")
@role_required(Role.OPERATOR)
def organisation_page(organisation_id):
    return _organisation_page(db.get_or_404(Organisation, organisation_id))


@bp.route("/admin/organisations/<int:organisation_id>/deactivate", methods=["GET", "POST"])
@role_required(Role.OPERATOR)
def deactivate(organisation_id):
    organisation = db.get_or_404(Organisation, organisation_id)
    form = DeactivateForm()
    if request.method == "GET":
        return _organisation_page(organisation, panel="deactivate", form=form)
    if not form.validate():
        return _organisation_page(organisation, panel="deactivate", form=form, status=422)
    try:
        organisations.deactivate(organisation.id, current_user, form.reason.data or None)
    except SmsStateUnchanged as unchanged:
        return _refused_organisation(organisation, str(unchanged))
    return _done(
        _organisation_url(organisation),
        _("SMS är avslutat för %(name)s.", name=organisation.name),
    )


@bp.route("/admin/organisations/<int:organisation_id>/activate", methods=["GET", "POST"])
@role_required(Role.OPERATOR)
def activate(organisation_id):
    organisation = db.get_or_404(Organisation, organisation_id)
    if request.method == "GET":
        return _organisation_page(organisation, panel="activate")
    try:
        opened = organisations.reactivate(organisation.id, current_user)
    except (SmsStateUnchanged, NoPrice) as refused:
        return _refused_organisation(organisation, str(refused), panel="activate")
    if opened is None:
        message = _(
            "SMS är aktiverat igen för %(name)s. Paketet fortsätter – ingen ny faktura.",
            name=organisation.name,
        )
    else:
        message = _(
            "SMS är aktiverat igen för %(name)s. Paket %(sequence)d är fakturerat (%(invoice)s).",
            name=organisation.name,
            sequence=opened.sequence,
            invoice=opened.invoice.number,
        )
    return _done(_organisation_url(organisation), message)


def _order_url(order):
    return url_for("activation.order", order_id=order.id)


def _organisation_url(organisation):
    return url_for("activation.organisation", organisation_id=organisation.id)


def _order_page(order, panel=None, form=None, refusal=None, status=200):
    """The order page, or for HTMX its decision panel only."""
    return render(
        "activation/order.html",
        "activation/_decision.html",
        order=order,
        panel=panel,
        form=form,
        refusal=refusal,
        promise=queue.promise(order, utcnow()),
        existing=queue.existing_organisation(order),
        preview=decisions.preview(order) if panel == "approve" else None,
        status=status,
    )


def _organisation_page(organisation, panel=None, form=None, refusal=None, status=200):
    """The organisation page, or for HTMX its SMS panel only."""
    events = db.paginate(
        organisations.audit_trail(organisation),
        per_page=organisations.EVENTS_PER_PAGE,
        max_per_page=organisations.EVENTS_PER_PAGE,
        error_out=False,
    )
    return render(
        "activation/organisation.html",
        "activation/_sms_panel.html",
        organisation=organisation,
        panel=panel,
        form=form,
        refusal=refusal,
        package=current_package(organisation),
        packages=organisations.packages(organisation),
        orders=organisations.orders(organisation),
        events=events,
        action_label=action_label,
        actor_label=actor_label,
        audit_details=details,
        preview=organisations.activation_preview(organisation) if panel == "activate" else None,
        status=status,
    )


def _refused_order(order, message, panel=None):
    """A decision that could not be made: 409 with the reason; HTMX reloads the page."""
    if is_htmx():
        return _done(_order_url(order), message, "error")
    return _order_page(order, panel=panel, refusal=message, status=409)


def _refused_organisation(organisation, message, panel=None):
    if is_htmx():
        return _done(_organisation_url(organisation), message, "error")
    return _organisation_page(organisation, panel=panel, refusal=message, status=409)


def _done(url, message, category="success"):
    """Show `url` with `message`: HTMX reloads it (HX-Redirect), a plain form gets a 303."""
    flash(message, category)
    if is_htmx():
        return "", 204, {"HX-Redirect": url}
    return redirect(url, code=303)


def _approved_message(approval):
    name = approval.organisation.name
    if approval.package is None:
        return _(
            "Beställningen är godkänd och SMS är aktivt för %(name)s. "
            "Paketet fortsätter – ingen ny faktura.",
            name=name,
        )
    return _(
        "Beställningen är godkänd och SMS är aktiverat för %(name)s. "
        "Paket %(sequence)d är fakturerat (%(invoice)s).",
        name=name,
        sequence=approval.package.sequence,
        invoice=approval.package.invoice.number,
    )
