from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField

from portal.forms import PlainText, at_most, clean_text, required

MAX_REASON_LENGTH = 1000


class ConfirmForm(FlaskForm):
    """A confirmation with nothing to fill in: only its CSRF token is checked."""


class RejectForm(FlaskForm):
    reason = TextAreaField(
        _l("Anledning"),
        filters=[clean_text],
        validators=[
            required(_l("Skriv varför beställningen avslås.")),
            at_most(MAX_REASON_LENGTH),
            PlainText(multiline=True),
        ],
    )


class DeactivateForm(FlaskForm):
    reason = TextAreaField(
        _l("Anledning (valfritt)"),
        filters=[clean_text],
        validators=[at_most(MAX_REASON_LENGTH), PlainText(multiline=True)],
    )
