"""Compose → review (an inline confirmation) → send, and the messages pages.

The compose form posts back to itself to switch views (the SMS checkbox), to
`/messages/review` for the confirmation and, from the confirmation, to `/messages/send`.
HTMX swaps fragments into `#compose`; without JavaScript each URL renders the whole page.
Images for the e-mail are uploaded with the compose form (multipart) and carried on as
tokens. Who sees which messages: admins every message of the organisation, principals
their own and their schools' staff's, staff their own (`scope.in_scope`). Those who see a
message may cancel it while it is sent.
"""

from flask import abort, flash, redirect, request, url_for
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import case
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.htmx import is_htmx, render
from portal.messaging import bp
from portal.messaging.attachments import MAX_BYTES, MAX_COUNT, own_uploads
from portal.messaging.cancelling import CannotCancel, cancel_message
from portal.messaging.dispatch import start_sending
from portal.messaging.forms import SMS_NOT_ACTIVE, ComposeForm, ConfirmForm
from portal.messaging.progress import is_running, percent_done, progress
from portal.messaging.scope import in_scope
from portal.messaging.sending import Draft, ReviewChanged, confirm_send, review
from portal.models import Message, MessageStatus, Recipient, RecipientStatus, Role
from portal.models.messages import Channel
from portal.recipients import GROUP_ROLE_LABELS, REASON_LABELS, SCOPE_ROLE_LABELS, reachable
from portal.recipients.privacy import HIDDEN_NUMBER, display_name
from portal.security import body_limit, role_required
from portal.sms.phone import mask
from portal.sms.text import (
    TooLong,
    count,
    describe_unicode,
    replace_typographic,
)

SENDERS = (Role.STAFF, Role.PRINCIPAL, Role.ADMIN)
PER_PAGE = 25
ROWS_PER_PAGE = 50
UPLOAD_LIMIT = MAX_COUNT * MAX_BYTES + 256 * 1024
HIDDEN_ADDRESS = _l("Dold adress")
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
ROW_STATUS_LABELS = {
    RecipientStatus.PENDING: _l("Köad"),
    RecipientStatus.CLAIMED: _l("Skickas"),
    RecipientStatus.SENT: _l("Skickad"),
    RecipientStatus.DELIVERED: _l("Levererad"),
    RecipientStatus.FAILED: _l("Misslyckad"),
    RecipientStatus.CANCELLED: _l("Avbruten"),
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
        "row_status_labels": ROW_STATUS_LABELS,
        "channel_labels": CHANNEL_LABELS,
        "recipient_name": display_name,
        "recipient_address": _shown_address,
        "is_running": is_running,
        "percent_done": percent_done,
        "file_size": _file_size,
        "describe_unicode": describe_unicode,
        "too_long_message": lambda result: str(TooLong(result)),
    }


@bp.route("/messages/new", methods=["GET", "POST"])
@role_required(*SENDERS)
@body_limit(UPLOAD_LIMIT)
def new():
    """The editor; a POST (the SMS checkbox, "Avbryt" on the confirmation) re-renders it
    with the values kept, and keeps any images chosen meanwhile."""
    formdata = request.form if request.method == "POST" else request.args
    form = ComposeForm(formdata=formdata, organisation=current_user.organisation)
    status = 200
    if form.sms.data and not form.sms_offered:
        form.sms.errors = [str(SMS_NOT_ACTIVE)]
        status = 422
    if not form.read_images(request.files.getlist("images"), current_user):
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
@body_limit(UPLOAD_LIMIT)
def review_page():
    form = ComposeForm(organisation=current_user.organisation)
    valid = form.validate()
    picked = form.read_selection(request.form)
    if not (form.read_images(request.files.getlist("images"), current_user) and picked and valid):
        return _compose(form, 422)
    return _confirmation(review(_draft(form), current_user))


@bp.post("/messages/send")
@role_required(*SENDERS)
def send():
    form = ConfirmForm(organisation=current_user.organisation)
    valid = form.validate()
    if not (form.read_selection(request.form) and valid):
        form.attached = own_uploads(form.attachment.data[:MAX_COUNT], current_user)
        return _compose(form, 422)
    try:
        message = confirm_send(_draft(form), current_user, form.key.data, form.digest.data)
    except ReviewChanged as changed:
        return _confirmation(changed.review, changed=True, status=422)
    start_sending(message.id)
    url = url_for("messaging.show", message_id=message.id)
    if is_htmx():
        return "", 204, {"HX-Redirect": url}
    return redirect(url, code=303)


@bp.get("/messages")
@role_required(*SENDERS)
def index():
    query = (
        db.select(Message)
        .options(joinedload(Message.author))
        .where(Message.organisation_id == current_user.organisation_id, in_scope(current_user))
    )
    page = db.paginate(
        query.order_by(Message.created_at.desc(), Message.id.desc()),
        per_page=PER_PAGE,
        max_per_page=PER_PAGE,
        error_out=False,
    )
    return render("messaging/index.html", results=page, progress=progress(page.items))


@bp.get("/messages/<int:message_id>")
@role_required(*SENDERS)
def show(message_id):
    return _message_page(_visible_message(message_id))


def _message_page(message, status=200):
    rows = db.paginate(
        db.select(Recipient)
        .options(joinedload(Recipient.person))
        .where(Recipient.message_id == message.id)
        .order_by(
            case((Recipient.status == RecipientStatus.FAILED, 0), else_=1),
            Recipient.channel,
            Recipient.id,
        ),
        per_page=ROWS_PER_PAGE,
        max_per_page=ROWS_PER_PAGE,
        error_out=False,
    )
    return render(
        "messaging/show.html",
        message=message,
        parts=progress([message])[message.id],
        rows=rows,
        status=status,
    )


@bp.get("/messages/<int:message_id>/progress")
@role_required(*SENDERS)
def progress_panel(message_id):
    """The self-replacing progress panel: it polls again only while the message runs."""
    message = _visible_message(message_id)
    if not is_htmx():
        return redirect(url_for("messaging.show", message_id=message.id))
    return render(
        "messaging/_progress.html",
        message=message,
        parts=progress([message])[message.id],
        polled=True,
    )


@bp.post("/messages/<int:message_id>/cancel")
@role_required(*SENDERS)
def cancel(message_id):
    """ "Avbryt utskick": recipients not yet sent to will not get the message."""
    message = _visible_message(message_id)
    url = url_for("messaging.show", message_id=message.id)
    try:
        count = cancel_message(message, current_user)
    except CannotCancel as refused:
        flash(str(refused), "error")
        status = 409
    else:
        flash(
            ngettext(
                "Utskicket är avbrutet. %(num)d mottagare får inte meddelandet.",
                "Utskicket är avbrutet. %(num)d mottagare får inte meddelandet.",
                count,
            ),
            "success",
        )
        status = 303
    if is_htmx():
        return "", 204 if status == 303 else status, {"HX-Redirect": url}
    if status == 303:
        return redirect(url, code=303)
    return _message_page(message, status)


def _visible_message(message_id) -> Message:
    """The message if the signed-in person may see it (`in_scope`); otherwise 404."""
    message = db.session.scalar(
        db.select(Message).where(
            Message.id == message_id,
            Message.organisation_id == current_user.organisation_id,
            in_scope(current_user),
        )
    )
    if message is None:
        abort(404)
    return message


def _shown_address(recipient) -> str:
    """The address as the sender may see it: numbers masked, protected people's hidden."""
    protected = recipient.person.protected_identity
    if recipient.channel == Channel.SMS:
        return str(HIDDEN_NUMBER) if protected else mask(recipient.address)
    return str(HIDDEN_ADDRESS) if protected else recipient.address


def _file_size(size: int) -> str:
    """'820 kB', '1,2 MB' in the reader's locale."""
    if size < 1_000_000:
        return _("%(size)s kB", size=format_decimal(max(1, round(size / 1000))))
    return _("%(size)s MB", size=format_decimal(round(size / 1_000_000, 1)))


def _draft(form) -> Draft:
    return Draft(
        form.subject.data,
        form.body.data or "",
        form.selection,
        form.sms_mode,
        tuple(form.attachment.data or ()),
    )


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
        images=own_uploads(result.draft.attachments, current_user),
        changed=changed,
        status=status,
    )
