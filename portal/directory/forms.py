"""Forms of the directory import page."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField
from wtforms.validators import DataRequired, Length


class UploadForm(FlaskForm):
    file = FileField(
        _l("Katalogfil (CSV eller SS 12000 JSON)"),
        validators=[FileRequired(_l("Välj en fil att importera."))],
    )
    full = BooleanField(_l("Filen innehåller hela katalogen"), default=True)


class ApplyForm(FlaskForm):
    token = HiddenField(validators=[DataRequired(), Length(max=100)])
