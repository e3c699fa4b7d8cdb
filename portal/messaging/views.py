"""Compose → review (an inline confirmation) → send, and the messages pages.

The compose form posts back to itself to switch views (the SMS checkbox), to
`/messages/review` for the confirmation and, from the confirmation, to `/messages/send`.
HTMX swaps fragments into `#compose`; without JavaScript each URL renders the whole page.
Who sees which messages: admins every message of the organisation; staff and
principals their own (a message does not record its schools, so a principal's wider
scope cannot be drawn yet).
"""

from flask import abort, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func

from portal.extensions import db
from portal.htmx import is_htmx, render
from portal.messaging import bp
from portal.messaging.forms import SMS_NOT_ACTIVE, ComposeForm, ConfirmForm
from portal.messaging.sending import Draft, ReviewChanged, confirm_send, review
from portal.models import Message, MessageStatus, Recipient, RecipientStatus, Role
from portal.models.messages import Channel
from portal.recipients import GROUP_ROLE_LABELS, REASON_LABELS, SCOPE_ROLE_LABELS, reachable
from portal.security import get_in_organisation, role_required
from portal.sms.text import (
    TooLong,
    count,
    describe_unicode,
    replace_typographic,
)

SENDERS = (Role.STAFF, Role.PRINCIPAL, Role.ADMIN)
PER_PAGE = 25
STATUS_LABELS = {
    MessageStatus.DRAFT: _l("Utkast"),
    MessageStatus.QUEUED: _l("Köad"),
    MessageStatus.SENDING: _l("Skickas"),
    MessageStatus.DONE: _l("Klar"),
    MessageStatus.CANCELLED: _l("Avbruten"),
}
RECIPIENT_STATUS_LABELS = {
    RecipientStatus.PENDING: _l("Köade"),
    RecipientStatus.CLAIMED: _l("Skickas"),
    RecipientStatus.SENT: _l("Skickade"),
    RecipientStatus.DELIVERED: _l("Levererade"),
    RecipientStatus.FAILED: _l("Misslyckade"),
    RecipientStatus.CANCELLED: _l("Avbrutna"),
}
CHANNEL_LABELS = {Channel.EMAIL: _l("E-post"), Channel.SMS: _l("SMS")}


@bp.context_processor
def _labels():
    return {
        "group_role_labels": GROUP_ROLE_LABELS,
        "scope_role_labels": SCOPE_ROLE_LABELS,
        "reason_labels": REASON_LABELS,
        "status_labels": STATUS_LABELS,
        "recipient_status_labels": RECIPIENT_STATUS_LABELS,
        "channel_labels": CHANNEL_LABELS,
        "describe_unicode": describe_unicode,
        "too_long_message": lambda result: str(TooLong(result)),
    }


@bp.route("/messages/new", methods=["GET", "POST"])
@role_required(*SENDERS)
def new():
    """The editor; a POST (the SMS checkbox, "Ändra") re-renders it with the values kept."""
    formdata = request.form if request.method == "POST" else request.args
    form = ComposeForm(formdata=formdata, organisation=current_user.organisation)
    status = 200
    if form.sms.data and not form.sms_offered:
        form.sms.errors = [str(SMS_NOT_ACTIVE)]
        status = 422
    form.read_selection(formdata, report=False)
    return _compose(form, status)


@bp.post("/messages/counter")
@role_required(*SENDERS)
def counter():
    """The live SMS counter; with `replace`, the SMS text with typographic characters
    replaced, and its counter."""
    form = ComposeForm(organisation=current_user.organisation)
    if not form.sms_offered:
        abort(404)
    form.use_sms_view()
    text = form.subject.data or ""
    if request.form.get("replace"):
        form.subject.data = text = replace_typographic(text)
        form.read_selection(request.form, report=False)
        return render(
            "messaging/new.html",
            "messaging/_sms_text.html",
            form=form,
            reach=reachable(current_user),
            sms_count=count(text),
        )
    result = count(text)
    return render(
        "messaging/_counter.html",
        "messaging/_counter.html",
        sms_count=result,
        status=422 if result.too_long else 200,
    )


@bp.post("/messages/review")
@role_required(*SENDERS)
def review_page():
    form = ComposeForm(organisation=current_user.organisation)
    valid = form.validate()
    if not (form.read_selection(request.form) and valid):
        return _compose(form, 422)
    return _confirmation(review(_draft(form), current_user))


@bp.post("/messages/send")
@role_required(*SENDERS)
def send():
    form = ConfirmForm(organisation=current_user.organisation)
    valid = form.validate()
    if not (form.read_selection(request.form) and valid):
        return _compose(form, 422)
    try:
        message = confirm_send(_draft(form), current_user, form.key.data, form.digest.data)
    except ReviewChanged as changed:
        return _confirmation(changed.review, changed=True, status=422)
    url = url_for("messaging.show", message_id=message.id)
    if is_htmx():
        return "", 204, {"HX-Redirect": url}
    return redirect(url, code=303)


@bp.get("/messages")
@role_required(*SENDERS)
def index():
    query = db.select(Message).where(Message.organisation_id == current_user.organisation_id)
    if current_user.role != Role.ADMIN:
        query = query.where(Message.author_id == current_user.id)
    page = db.paginate(
        query.order_by(Message.created_at.desc(), Message.id.desc()),
        per_page=PER_PAGE,
        max_per_page=PER_PAGE,
        error_out=False,
    )
    return render("messaging/index.html", results=page)


@bp.get("/messages/<int:message_id>")
@role_required(*SENDERS)
def show(message_id):
    message = get_in_organisation(Message, message_id)
    if current_user.role != Role.ADMIN and message.author_id != current_user.id:
        abort(404)
    rows = db.session.execute(
        db.select(Recipient.channel, Recipient.status, func.count())
        .where(Recipient.message_id == message.id)
        .group_by(Recipient.channel, Recipient.status)
    ).all()
    counts = {}
    for channel, status, n in rows:
        counts.setdefault(Channel(channel), {})[RecipientStatus(status)] = n
    channels = [Channel.EMAIL, Channel.SMS] if message.send_sms else [Channel.EMAIL]
    return render("messaging/show.html", message=message, counts=counts, channels=channels)


def _draft(form) -> Draft:
    return Draft(form.subject.data, form.body.data or "", form.selection, form.sms_mode)


def _compose(form, status=200):
    text = form.subject.data or ""
    return render(
        "messaging/new.html",
        "messaging/_compose.html",
        form=form,
        reach=reachable(current_user),
        sms_count=count(text) if form.sms_mode else None,
        status=status,
    )


def _confirmation(result, changed=False, status=200):
    return render(
        "messaging/new.html",
        "messaging/_confirm.html",
        review=result,
        organisation=current_user.organisation,
        changed=changed,
        status=status,
    )
