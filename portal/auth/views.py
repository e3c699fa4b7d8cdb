from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from portal.auth import bp
from portal.auth.forms import LoginForm
from portal.auth.passwords import authenticate
from portal.extensions import db, limiter, login_manager
from portal.htmx import render
from portal.models import Person
from portal.security import safe_next

login_manager.login_view = "auth.login"
login_manager.login_message = None
login_manager.session_protection = "strong"


@login_manager.user_loader
def load_person(person_id):
    person = db.session.get(Person, int(person_id)) if person_id.isdigit() else None
    return person if person is not None and person.active else None


def _submitted_email():
    return "login-email:" + request.form.get("email", "").strip().lower()


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per minute;200 per hour", methods=["POST"])
@limiter.limit("5 per minute;30 per hour", methods=["POST"], key_func=_submitted_email)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        person = authenticate(form.email.data, form.password.data)
        if person is not None:
            login_user(person)
            return redirect(safe_next(request.args.get("next"), url_for("main.index")))
        form.form_errors.append(_("Fel e-postadress eller lösenord."))
    status = 422 if form.errors or form.form_errors else 200
    return render("auth/login.html", form=form, status=status)


@bp.route("/logout", methods=["GET", "POST"])
@login_required
def logout():
    if request.method == "GET":
        return render("auth/logout.html")
    logout_user()
    flash(_("Du är utloggad."), "info")
    return redirect(url_for("auth.login"))
