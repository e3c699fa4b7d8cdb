import logging

from flask import Response, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from redis.exceptions import RedisError
from sqlalchemy.orm import joinedload

from jobs.billing import enqueue_deactivation_notice
from portal.billing import bp, invoices
from portal.billing.cancellation import end_sms_service
from portal.billing.chart import usage_chart
from portal.billing.forms import DeactivateForm, InvoiceFilterForm, PriceForm
from portal.billing.money import kronor, vat_ore
from portal.billing.packages import SmsStateUnchanged, current_package
from portal.billing.prices import current_price, set_price
from portal.billing.usage import ledger_total, monthly_usage, package_ledger
from portal.database import write_transaction
from portal.extensions import db
from portal.htmx import is_htmx, render
from portal.models import Invoice, PackagePrice, Person, Role
from portal.security import get_in_organisation, role_required

log = logging.getLogger(__name__)

PER_PAGE = 25
LEDGER_PER_PAGE = 50

bp.add_app_template_filter(kronor, "kronor")
bp.add_app_template_filter(vat_ore, "vat")


@bp.get("/billing")
@role_required(Role.ADMIN)
def overview():
    organisation = current_user.organisation
    page = db.paginate(
        db.select(Invoice)
        .options(joinedload(Invoice.package))
        .where(Invoice.organisation_id == organisation.id)
        .order_by(Invoice.created_at.desc(), Invoice.id.desc()),
        per_page=PER_PAGE,
        max_per_page=PER_PAGE,
        error_out=False,
    )
    return render(
        "billing/overview.html",
        organisation=organisation,
        package=current_package(organisation),
        results=page,
        chart=usage_chart(monthly_usage(organisation.id)),
    )


@bp.get("/billing/invoices/<int:invoice_id>")
@role_required(Role.ADMIN)
def invoice(invoice_id):
    """An invoice of the admin's own organisation and the usage behind it."""
    return _invoice_page(get_in_organisation(Invoice, invoice_id), operator_view=False)


@bp.get("/admin/invoices/<int:invoice_id>")
@role_required(Role.OPERATOR)
def operator_invoice(invoice_id):
    """The same invoice page for operators, for any organisation."""
    return _invoice_page(db.get_or_404(Invoice, invoice_id), operator_view=True)


def _invoice_page(invoice, *, operator_view):
    """The invoice with its package's usage ledger: which messages drew how many units."""
    page = db.paginate(
        package_ledger(invoice.package_id),
        per_page=LEDGER_PER_PAGE,
        max_per_page=LEDGER_PER_PAGE,
        error_out=False,
    )
    return render(
        "billing/invoice.html",
        invoice=invoice,
        package=invoice.package,
        results=page,
        total=ledger_total(invoice.package_id),
        operator_view=operator_view,
    )


@bp.route("/billing/deactivate", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def deactivate():
    organisation = current_user.organisation
    if not organisation.sms_active:
        flash(_("SMS-tjänsten är redan avslutad."), "error")
        if is_htmx():  # the inline confirmation: reload the whole page, not a page in a page
            return "", 204, {"HX-Redirect": url_for("billing.overview")}
        return redirect(url_for("billing.overview"), code=303)
    form = DeactivateForm()
    if not form.validate_on_submit():
        return render(
            "billing/deactivate.html",
            "billing/_deactivate_confirm.html",
            form=form,
            organisation=organisation,
            package=current_package(organisation),
            status=422 if form.errors else 200,
        )
    try:
        event = end_sms_service(organisation.id, by=current_user, reason=form.reason.data)
    except SmsStateUnchanged:
        flash(_("SMS-tjänsten är redan avslutad."), "error")
        return redirect(url_for("billing.overview"), code=303)
    _notify_operators(event.id)
    flash(_("SMS-tjänsten är avslutad. Inga fler SMS skickas."), "success")
    return redirect(url_for("billing.overview"), code=303)


@bp.route("/admin/price", methods=["GET", "POST"])
@role_required(Role.OPERATOR)
def price():
    form = PriceForm()
    if form.validate_on_submit():
        with write_transaction():
            new_price = set_price(form.price.amount_ore, current_user)
            amount = new_price.amount_ore
        flash(_("Paketpriset är nu %(price)s exkl. moms.", price=kronor(amount)), "success")
        return redirect(url_for("billing.price"), code=303)
    page = db.paginate(
        db.select(PackagePrice).order_by(
            PackagePrice.effective_from.desc(), PackagePrice.id.desc()
        ),
        per_page=PER_PAGE,
        max_per_page=PER_PAGE,
        error_out=False,
    )
    setters = _people({price.set_by_id for price in page.items})
    return render(
        "billing/price.html",
        form=form,
        current=current_price(),
        results=page,
        setters=setters,
        status=422 if form.errors else 200,
    )


@bp.get("/admin/invoices", endpoint="invoices")
@role_required(Role.OPERATOR)
def invoices_list():
    form = InvoiceFilterForm(request.args)
    if not form.validate():
        return render("billing/invoices.html", form=form, results=None, status=422)
    page = db.paginate(
        invoices.invoices_query(form.since.day),
        per_page=PER_PAGE,
        max_per_page=PER_PAGE,
        error_out=False,
    )
    return render("billing/invoices.html", form=form, results=page, since=form.since.data)


@bp.get("/admin/invoices.csv")
@role_required(Role.OPERATOR)
def invoices_csv():
    form = InvoiceFilterForm(request.args)
    if not form.validate():
        return redirect(url_for("billing.invoices", since=form.since.data), code=303)
    rows = db.session.scalars(invoices.invoices_query(form.since.day)).all()
    return Response(
        invoices.csv_text(rows).encode("utf-8"),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{invoices.export_filename()}"',
            "Cache-Control": "no-store",
        },
    )


def _notify_operators(event_id):
    """Queue the operators' notice; the deactivation stands even if Redis is down."""
    try:
        enqueue_deactivation_notice(event_id)
    except RedisError:
        log.exception("SMS deactivation %s saved, but its notice could not be queued", event_id)


def _people(ids):
    ids = {person_id for person_id in ids if person_id is not None}
    if not ids:
        return {}
    people = db.session.scalars(db.select(Person).where(Person.id.in_(ids)))
    return {person.id: person for person in people}
