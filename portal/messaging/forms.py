"""The compose form: heading, body, images, the SMS checkbox and the posted selection."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, HiddenField, MultipleFileField, StringField, TextAreaField
from wtforms.validators import Optional, ValidationError
from wtforms.widgets import TextArea

from portal.forms import PlainText, at_most, clean_text, required
from portal.messaging.attachments import (
    MAX_COUNT,
    TOKEN_MAX,
    ImageRefused,
    check_files,
    keep,
    own_uploads,
)
from portal.recipients import InvalidSelection, Selection, parse_selection
from portal.sms.text import TooLong, check_length

SUBJECT_MAX = 1000
BODY_MAX = 20_000
SMS_NOT_ACTIVE = _l("SMS är inte aktiverat för din organisation.")
TOO_MANY_IMAGES = _l("Högst %(max)d bilder per meddelande.", max=MAX_COUNT)
IMAGE_GONE = _l("En bild finns inte längre. Välj bilden igen.")


class TokenList(Field):
    """The tokens of images uploaded earlier, posted as repeated inputs (one more than
    allowed is kept, so that too many can be reported)."""

    def process_formdata(self, valuelist):
        tokens = dict.fromkeys(value[:TOKEN_MAX] for value in valuelist if value)
        self.data = list(tokens)[: MAX_COUNT + 1]


class ComposeForm(FlaskForm):
    subject = StringField(
        _l("Rubrik"),
        validators=[
            required(_l("Skriv en rubrik.")),
            at_most(SUBJECT_MAX),
            PlainText(multiline=True),
        ],
        filters=[clean_text],
    )
    body = TextAreaField(
        _l("Meddelande"),
        validators=[Optional(), at_most(BODY_MAX), PlainText(multiline=True)],
        filters=[clean_text],
    )
    images = MultipleFileField(_l("Bilder"))
    attachment = TokenList(default=list)
    sms = BooleanField(_l("Skicka även som SMS"))

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        self.selection = Selection()
        self.selection_error = None
        self.attached = []
        if self.sms_mode:
            self.use_sms_view()

    def use_sms_view(self):
        """The text-only view: the heading is the SMS, written in a textarea."""
        self.sms.data = True
        self.subject.label.text = _l("SMS-text (Rubrik)")
        self.subject.widget = TextArea()

    @property
    def sms_offered(self) -> bool:
        return self.organisation.sms_active

    @property
    def sms_mode(self) -> bool:
        """The text-only view: SMS ticked where the organisation has SMS."""
        return bool(self.sms.data) and self.sms_offered

    def validate_sms(self, field):
        if field.data and not self.sms_offered:
            raise ValidationError(SMS_NOT_ACTIVE)

    def validate_subject(self, field):
        if self.sms.data and field.data:
            try:
                check_length(field.data)
            except TooLong as too_long:
                raise ValidationError(str(too_long)) from None

    def read_selection(self, formdata, *, report=True) -> bool:
        """Parse the picked groups. False when none or unreadable; with `report`, the
        error is kept for the picker and the error summary."""
        try:
            self.selection = parse_selection(formdata)
        except InvalidSelection as invalid:
            return self._selection_refused(str(invalid), report)
        if not self.selection:
            return self._selection_refused(str(_l("Välj minst en mottagargrupp.")), report)
        return True

    def read_images(self, files, sender) -> bool:
        """Store the newly chosen images as the sender's and look up those uploaded
        before (by their tokens). False, with the error at the image field, when an
        image is refused, a token is not one of the sender's uploads or there would be
        too many; a refused upload stores nothing."""
        tokens = self.attachment.data or []
        self.attached = own_uploads(tokens[:MAX_COUNT], sender)
        self.attachment.data = [upload.token for upload in self.attached]
        if len(tokens) > MAX_COUNT:
            return self._images_refused(TOO_MANY_IMAGES)
        if len(self.attached) != len(tokens):
            return self._images_refused(IMAGE_GONE)
        try:
            uploads = check_files(files)
        except ImageRefused as refused:
            return self._images_refused(str(refused))
        if len(self.attached) + len(uploads) > MAX_COUNT:
            return self._images_refused(TOO_MANY_IMAGES)
        self.attached += keep(uploads, sender)
        self.attachment.data = [upload.token for upload in self.attached]
        return True

    def _images_refused(self, message):
        self.images.errors = [str(message)]
        return False

    def _selection_refused(self, message, report):
        if report:
            self.selection_error = message
        return False


class ConfirmForm(ComposeForm):
    key = HiddenField(validators=[required(_l("Granska utskicket igen.")), at_most(64)])
    digest = HiddenField(validators=[required(_l("Granska utskicket igen.")), at_most(64)])
