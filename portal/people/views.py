import logging

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from redis.exceptions import RedisError

from jobs.invitations import enqueue_invitation
from portal.activation.forms import ConfirmForm
from portal.auth.sessions import sign_in
from portal.database import write_transaction
from portal.extensions import db, limiter
from portal.htmx import render
from portal.models import Person, Role
from portal.models.base import utcnow
from portal.people import bp, erasure, invitations, mobile, terms
from portal.people.forms import MobileForm, SetPasswordForm, TermsForm
from portal.security import get_in_organisation, role_required, safe_next

log = logging.getLogger(__name__)

PEOPLE_PER_PAGE = 50
MAX_QUERY_LENGTH = 100
PRIVATE_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}


@bp.route("/om-sms-portalen", methods=["GET", "POST"])
@login_required
def about():
    next_page = safe_next(request.args.get("next"), url_for("main.index"))
    form = TermsForm()
    if not terms.needs_acceptance(current_user):
        if request.method == "POST":
            return redirect(next_page, code=303)
        return render("people/about.html", form=None)
    if form.validate_on_submit():
        terms.accept_terms(current_user)
        db.session.commit()
        return redirect(next_page, code=303)
    status = 422 if form.errors else 200
    return render("people/about.html", form=form, next=request.args.get("next"), status=status)


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    form = MobileForm()
    if request.method != "POST":
        form.mobile.data = mobile.display(current_user.mobile)
    elif form.validate():
        changed = mobile.change_mobile(current_user, form.mobile.normalised)
        db.session.commit()
        if changed and current_user.mobile is None:
            flash(_("Ditt mobilnummer är borttaget. Du får inga SMS från SMS-portalen."), "success")
        else:
            flash(_("Ditt mobilnummer är sparat."), "success")
        return redirect(url_for("people.profile"), code=303)
    return render(
        "people/profile.html",
        form=form,
        person=current_user,
        mobile=mobile.display(current_user.mobile),
        status=422 if form.errors else 200,
    )


@bp.get("/people/invite")
@role_required(Role.ADMIN)
def invite_list():
    query, invitees = _search(invitations.invitees)
    return render(
        "people/invite.html",
        invitees=invitees,
        query=query,
        links=invitations.latest_links(invitees.items),
        organisation=current_user.organisation,
        now=utcnow(),
    )


@bp.post("/people/<int:person_id>/invite")
@limiter.limit("60 per minute")
@role_required(Role.ADMIN)
def invite(person_id):
    person = get_in_organisation(Person, person_id)
    back = safe_next(request.form.get("next"), url_for("people.invite_list"))
    if not invitations.may_be_invited(person):
        flash(
            _(
                "Personen kan inte bjudas in. Bara den som har en e-postadress men inget "
                "lösenord kan få en inbjudan."
            ),
            "error",
        )
        return redirect(back, code=303)
    token = invitations.invite(person, by=current_user)
    db.session.commit()
    try:
        enqueue_invitation(token.id)
    except RedisError:
        log.exception("Invitation %s saved, but its e-mail could not be queued", token.id)
        flash(_("Inbjudan kunde inte skickas just nu. Försök igen om en stund."), "error")
        return redirect(back, code=303)
    flash(_invitation_sent(person), "success")
    return redirect(back, code=303)


@bp.get("/people")
@role_required(Role.ADMIN)
def people_list():
    """The organisation's people, searchable, each with "Ta bort kontaktuppgifter"."""
    query, people = _search(erasure.people_of)
    return render(
        "people/people.html",
        people=people,
        query=query,
        organisation=current_user.organisation,
        display_mobile=mobile.display,
    )


@bp.route("/people/<int:person_id>/erase", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def erase(person_id):
    person = get_in_organisation(Person, person_id)
    if person.id == current_user.id:
        flash(_("Du kan inte ta bort dina egna kontaktuppgifter här."), "error")
        return redirect(url_for("people.people_list"), code=303)
    form = ConfirmForm()
    if form.validate_on_submit():
        with write_transaction():
            erasure.erase_person(person, by=current_user)
        flash(_("Kontaktuppgifterna är borttagna."), "success")
        return redirect(url_for("people.people_list"), code=303)
    return render("people/erase.html", person=person, form=form)


@bp.route("/set-password/<token>", methods=["GET", "POST"])
@limiter.limit("10 per minute;50 per hour", methods=["POST"])
def set_password(token):
    link = invitations.find(token)
    if link is None or not invitations.is_usable(link):
        return _dead_link(404 if link is None else 410)
    form = SetPasswordForm()
    if form.validate_on_submit():
        person = invitations.use(token, form.password.data)
        if person is None:
            return _dead_link(410)
        sign_in(person)
        return redirect(url_for("main.index"), code=303)
    status = 422 if form.errors else 200
    body, code = render("people/set_password.html", form=form, token=token, status=status)
    return body, code, PRIVATE_PAGE_HEADERS


def _search(people_of):
    """The search typed in `q` and the page of `people_of(organisation, query)` asked for."""
    query = request.args.get("q", "").strip()[:MAX_QUERY_LENGTH]
    page = db.paginate(
        people_of(current_user.organisation, query),
        per_page=PEOPLE_PER_PAGE,
        max_per_page=PEOPLE_PER_PAGE,
        error_out=False,
    )
    return query, page


def _dead_link(status):
    body, code = render("people/link_dead.html", status=status)
    return body, code, PRIVATE_PAGE_HEADERS


def _invitation_sent(person):
    if person.protected_identity:
        return _("Inbjudan skickas till personen med skyddad identitet.")
    return _("Inbjudan skickas till %(name)s.", name=person.full_name)
