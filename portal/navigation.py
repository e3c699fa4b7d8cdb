"""Navigation by role and the labels templates show for roles and states.

Menu entries name endpoints; an entry appears only once its blueprint is
registered, so later features join the menu by existing.
"""

from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.models import OrderStatus, Role, SmsStatus


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str
    roles: tuple[Role, ...]
    count: Callable[[], int] | None = None


def _waiting_orders():
    from portal.activation.queue import waiting_count  # the queue imports these labels

    return waiting_count()


STAFF_ROLES = (Role.ADMIN, Role.PRINCIPAL, Role.STAFF)

MENU = (
    NavItem("main.index", _l("Start"), tuple(Role)),
    NavItem("activation.queue", _l("Beställningar"), (Role.OPERATOR,), count=_waiting_orders),
    NavItem("activation.organisations", _l("Organisationer"), (Role.OPERATOR,)),
    NavItem("billing.invoices", _l("Fakturor"), (Role.OPERATOR,)),
    NavItem("billing.price", _l("Paketpris"), (Role.OPERATOR,)),
    NavItem("audit.log", _l("Granskningslogg"), (Role.OPERATOR,)),
    NavItem("operations.page", _l("Drift"), (Role.OPERATOR,)),
    NavItem("messaging.index", _l("Meddelanden"), STAFF_ROLES),
    NavItem("messaging.new", _l("Nytt meddelande"), STAFF_ROLES),
    NavItem("directory.import_page", _l("Katalogimport"), (Role.ADMIN,)),
    NavItem("people.invite_list", _l("Bjud in"), (Role.ADMIN,)),
    NavItem("people.people_list", _l("Personer"), (Role.ADMIN,)),
    NavItem("billing.overview", _l("Fakturering"), (Role.ADMIN,)),
    NavItem("people.profile", _l("Min profil"), tuple(Role)),
)

ROLE_LABELS = {
    Role.OPERATOR: _l("Operatör"),
    Role.ADMIN: _l("Administratör"),
    Role.PRINCIPAL: _l("Rektor"),
    Role.STAFF: _l("Personal"),
    Role.STUDENT: _l("Elev"),
    Role.GUARDIAN: _l("Vårdnadshavare"),
}

SMS_STATUS_LABELS = {
    SmsStatus.INACTIVE: _l("Inte aktiverat"),
    SmsStatus.ACTIVE: _l("Aktivt"),
    SmsStatus.DEACTIVATED: _l("Avslutat"),
}


ORDER_STATUS_LABELS = {
    OrderStatus.RECEIVED: _l("Mottagen"),
    OrderStatus.APPROVED: _l("Godkänd"),
    OrderStatus.REJECTED: _l("Avslagen"),
    OrderStatus.ACTIVATED: _l("Aktiverad"),
}


def init_app(app):
    app.context_processor(
        lambda: {
            "navigation": navigation,
            "has_endpoint": has_endpoint,
            "role_label": ROLE_LABELS.get,
            "sms_status_label": SMS_STATUS_LABELS.get,
            "order_status_label": ORDER_STATUS_LABELS.get,
        }
    )


def has_endpoint(endpoint):
    return endpoint in current_app.view_functions


def navigation():
    """The menu for the signed-in person: what their role may use and what exists."""
    if not current_user.is_authenticated:
        return []
    return [
        {
            "url": url_for(item.endpoint),
            "label": item.label,
            "current": request.endpoint == item.endpoint,
            "count": item.count() if item.count else None,
        }
        for item in MENU
        if current_user.role in item.roles and has_endpoint(item.endpoint)
    ]
