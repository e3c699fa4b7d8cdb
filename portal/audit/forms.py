from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField

from portal.audit.labels import action_label
from portal.extensions import db
from portal.models import AuditEvent, Organisation

ALL = ""


class AuditFilterForm(FlaskForm):
    """The audit log's filters (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    organisation = SelectField(_l("Organisation"), validate_choice=True)
    action = SelectField(_l("Händelse"), validate_choice=True)

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


def _label(choice):
    return str(choice[1])
