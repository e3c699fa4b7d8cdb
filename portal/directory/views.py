"""The admin page /directory/import: upload, preview (a dry run), then "Importera"."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.directory import bp, uploads
from portal.directory.forms import ApplyForm, UploadForm
from portal.directory.importing import import_directory
from portal.models import Role
from portal.security import body_limit, role_required

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
FORM_OVERHEAD_BYTES = 64 * 1024
SHOWN_ISSUES = 200


@bp.route("/directory/import", methods=["GET", "POST"])
@role_required(Role.ADMIN)
@body_limit(MAX_UPLOAD_BYTES + FORM_OVERHEAD_BYTES)
def import_page():
    """Upload a file and see what importing it would change (a dry run)."""
    form = UploadForm()
    if not form.is_submitted():
        return _upload_page(form)
    if not form.validate():
        return _upload_page(form, 422)
    content = form.file.data.read()
    full = form.full.data
    report = import_directory(content, current_user.organisation, dry_run=True, full=full)
    if report.file_error:
        form.file.errors.append(report.file_error)
        return _upload_page(form, 422)
    apply_form = ApplyForm(token=uploads.keep(content, current_user, full=full))
    return render_template(
        "directory/preview.html", report=report, form=apply_form, shown=SHOWN_ISSUES
    )


@bp.post("/directory/import/apply")
@role_required(Role.ADMIN)
def apply():
    """Import the file the preview showed; it is read and checked again."""
    form = ApplyForm()
    upload = uploads.take(form.token.data, current_user) if form.validate() else None
    if upload is None:
        flash(
            _(
                "Importen har redan gjorts eller förhandsgranskningen har gått ut. "
                "Ladda upp filen igen."
            ),
            "error",
        )
        return redirect(url_for("directory.import_page"), code=303)
    content, full = upload
    report = import_directory(
        content, current_user.organisation, dry_run=False, full=full, actor=current_user
    )
    return render_template("directory/result.html", report=report, shown=SHOWN_ISSUES)


def _upload_page(form, status=200):
    return render_template("directory/import.html", form=form), status
