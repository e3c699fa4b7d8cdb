from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.auth import bp
from portal.auth.forms import LoginForm
from portal.auth.passwords import account, authenticate
from portal.auth.sessions import record_login, sign_in, sign_out
from portal.extensions import limiter, login_manager
from portal.htmx import render
from portal.security import safe_next

login_manager.login_view = "auth.login"
login_manager.login_message = None
login_manager.session_protection = "strong"


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
            sign_in(person)
            return redirect(safe_next(request.args.get("next"), url_for("main.index")))
        record_login("login.failed", account(form.email.data))
        form.form_errors.append(_("Fel e-postadress eller lösenord."))
    status = 422 if form.errors or form.form_errors else 200
    return render("auth/login.html", form=form, status=status)


@bp.route("/logout", methods=["GET", "POST"])
@login_required
def logout():
    if request.method == "GET":
        return render("auth/logout.html")
    sign_out(current_user)
    flash(_("Du är utloggad."), "info")
    return redirect(url_for("auth.login"))
