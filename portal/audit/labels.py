"""What the audit log shows: Swedish names of actions and a few safe details."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.billing.money import kronor

ACTION_LABELS = {
    "order.received": _l("Beställning mottagen"),
    "order.approved": _l("Beställning godkänd"),
    "order.rejected": _l("Beställning avslagen"),
    "message.sent": _l("Utskick klart"),
    "message.cancelled": _l("Utskick avbrutet"),
    "sms.activated": _l("SMS aktiverat"),
    "sms.deactivated": _l("SMS avslutat"),
    "package.opened": _l("Paket öppnat och fakturerat"),
    "price.set": _l("Paketpris ändrat"),
    "invoices.exported": _l("Fakturor exporterade"),
    "terms.accepted": _l("Villkoren godkända"),
    "invitation.created": _l("Inbjudan skickad"),
    "password.set": _l("Lösenord valt"),
    "directory.imported": _l("Katalog importerad"),
    "demo.seeded": _l("Demodata inlagd"),
    "login.succeeded": _l("Inloggning"),
    "login.failed": _l("Misslyckad inloggning"),
    "login.signed_out": _l("Utloggning"),
    "profile.mobile_changed": _l("Mobilnummer ändrat"),
    "profile.mobile_removed": _l("Mobilnummer borttaget"),
    "person.erased": _l("Kontaktuppgifter borttagna"),
    "job.requeued": _l("Misslyckat jobb körs igen"),
}


def action_label(action):
    """The Swedish name of an action; an action without one is shown as recorded."""
    return ACTION_LABELS.get(action, action)


def actor_label(person):
    """Who did it; never the name of a person with protected identity."""
    if person is None:
        return _l("Systemet")
    if person.protected_identity:
        return _l("Skyddad identitet")
    return person.full_name


def details(event):
    """Short texts for the details that are safe to show: numbers, amounts and reasons.

    Names in the details are never shown (they could belong to a protected person).
    Plain strings (not lazy ones, which Jinja would take as safe HTML), so a reason
    typed by a person is escaped like any other text.
    """
    values = event.details if isinstance(event.details, dict) else {}
    shown = []
    if isinstance(values.get("number"), str):
        shown.append(values["number"])
    if isinstance(values.get("invoice"), str):
        shown.append(_("Faktura %(number)s", number=values["invoice"]))
    for key in ("sequence", "package"):
        if _is_int(values.get(key)):
            shown.append(_("Paket %(number)d", number=values[key]))
    if _is_int(values.get("amount_ore")):
        shown.append(_("Belopp %(amount)s", amount=kronor(values["amount_ore"])))
    if _is_int(values.get("previous_ore")):
        shown.append(_("Tidigare %(amount)s", amount=kronor(values["previous_ore"])))
    if _is_int(values.get("count")):
        shown.append(_("Antal %(count)d", count=values["count"]))
    if isinstance(values.get("ip"), str):
        shown.append(_("IP-adress %(ip)s", ip=values["ip"]))
    if isinstance(values.get("job"), str):
        shown.append(_("Jobb %(job)s", job=values["job"]))
    if values.get("sms_status") in ("inactive", "deactivated"):  # see billing.usage.charge
        shown.append(_("För SMS som redan var på väg när SMS-tjänsten avslutades"))
    if isinstance(values.get("reason"), str) and values["reason"]:
        shown.append(_("Anledning: %(reason)s", reason=values["reason"]))
    return shown


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)
