from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, ValidationError

from portal.audit.labels import action_label
from portal.billing.forms import parse_day
from portal.extensions import db
from portal.forms import PlainText, at_most, clean_text
from portal.models import AuditEvent, Organisation

ALL = ""
DAY_FORMAT = _l("Ange ett datum som ÅÅÅÅ-MM-DD, till exempel 2026-01-31.")


class AuditFilterForm(FlaskForm):
    """The audit log's filters (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    organisation = SelectField(_l("Organisation"), validate_choice=True)
    action = SelectField(_l("Händelse"), validate_choice=True)
    actor = StringField(_l("Vem"), validators=[at_most(100), PlainText()], filters=[clean_text])
    since = StringField(_l("Från och med"), validators=[at_most(10)], filters=[clean_text])
    until = StringField(_l("Till och med"), validators=[at_most(10)], filters=[clean_text])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        organisations = db.session.execute(
            db.select(Organisation.id, Organisation.name).order_by(Organisation.name)
        ).all()
        self.organisation.choices = [
            (ALL, _l("Alla organisationer")),
            *((str(org_id), name) for org_id, name in organisations),
        ]
        actions = db.session.scalars(db.select(AuditEvent.action).distinct()).all()
        labelled = sorted(((action, action_label(action)) for action in actions), key=_label)
        self.action.choices = [(ALL, _l("Alla händelser")), *labelled]
        for select in (self.organisation, self.action):
            select.data = select.data or ALL

    @property
    def organisation_id(self):
        return int(self.organisation.data) if self.organisation.data else None

    def validate_since(self, field):
        field.day = _day(field)

    def validate_until(self, field):
        field.day = _day(field)
        since = getattr(self.since, "day", None)
        if field.day and since and field.day < since:
            raise ValidationError(
                _l("Till och med-datumet kan inte vara före från och med-datumet.")
            )

    @property
    def filters(self):
        """The filters in effect, as URL arguments for the page links."""
        return {
            name: self[name].data or None
            for name in ("organisation", "action", "actor", "since", "until")
        }


def _day(field):
    if not field.data:
        return None
    try:
        return parse_day(field.data)
    except ValueError:
        raise ValidationError(DAY_FORMAT) from None


def _label(choice):
    return str(choice[1])
