"""Images for a message's e-mail: checked by their content, kept as the sender's uploads
(each with a random token that the compose form carries) and bound to the message when
it is confirmed.

Only PNG and JPEG images that decode completely are accepted, whatever the file is
called or the browser says it is. An upload belongs to the person who made it: tokens
are only ever looked up among the sender's own uploads that no message has taken yet.
Uploads that never became part of a message are deleted after a day
(`delete_stale_uploads`, run periodically).
"""

import io
import os
import secrets
import struct
import unicodedata
import warnings
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from PIL import Image
from sqlalchemy import delete, update

from portal.extensions import db
from portal.models import Attachment
from portal.models.base import utcnow

MAX_BYTES = 5 * 1024 * 1024
MAX_COUNT = 5
MAX_PIXELS = 50_000_000
TOKEN_BYTES = 24
TOKEN_MAX = 64
FILENAME_MAX = 120
STALE_AFTER = timedelta(days=1)
SIGNATURES = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG"}
CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}
EXTENSIONS = {"PNG": (".png",), "JPEG": (".jpg", ".jpeg")}
UNREADABLE = (OSError, SyntaxError, ValueError, EOFError, struct.error)


class ImageRefused(Exception):
    """An upload that is not a PNG or JPEG image of at most 5 MB; the message is Swedish."""


@dataclass(frozen=True)
class Upload:
    """A checked image, not stored yet."""

    filename: str
    content_type: str
    data: bytes


def check_image(name: str, data: bytes) -> Upload:
    """`data` as an Upload when it is a PNG or JPEG image that decodes in full."""
    shown = clean_filename(name)
    if len(data) > MAX_BYTES:
        raise ImageRefused(_("%(name)s är större än 5 MB.", name=shown))
    kind = next((fmt for magic, fmt in SIGNATURES.items() if data.startswith(magic)), None)
    if kind is None:
        raise ImageRefused(_("%(name)s är inte en PNG- eller JPEG-bild.", name=shown))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[kind]) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise Image.DecompressionBombError(shown)
                image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRefused(_("%(name)s har för många bildpunkter.", name=shown)) from None
    except UNREADABLE:
        raise ImageRefused(
            _("%(name)s går inte att läsa som bild. Filen kan vara skadad.", name=shown)
        ) from None
    return Upload(_with_extension(shown, kind), CONTENT_TYPES[kind], data)


def check_files(files) -> list[Upload]:
    """Read and check the chosen files (werkzeug FileStorage; empty file inputs are
    skipped); closes them. ImageRefused on the first that is not an image of at most 5 MB."""
    try:
        return [
            check_image(file.filename, file.stream.read(MAX_BYTES + 1)) for file in files if file
        ]
    finally:
        for file in files:
            file.close()  # large uploads are spooled to temporary files


def keep(uploads: list[Upload], sender) -> list[Attachment]:
    """Store checked uploads as the sender's, each with a fresh token; commits."""
    kept = [
        Attachment(
            organisation_id=sender.organisation_id,
            uploaded_by_id=sender.id,
            token=secrets.token_urlsafe(TOKEN_BYTES),
            filename=upload.filename,
            content_type=upload.content_type,
            size=len(upload.data),
            data=upload.data,
        )
        for upload in uploads
    ]
    db.session.add_all(kept)
    db.session.commit()
    return kept


def own_uploads(tokens, sender) -> list[Attachment]:
    """The sender's uploads not yet part of a message, for those of `tokens` that are
    such, in the order of `tokens`."""
    tokens = list(tokens)
    if not tokens:
        return []
    rows = db.session.scalars(
        db.select(Attachment).where(
            Attachment.token.in_(tokens),
            Attachment.uploaded_by_id == sender.id,
            Attachment.organisation_id == sender.organisation_id,
            Attachment.message_id.is_(None),
        )
    ).all()
    by_token = {row.token: row for row in rows}
    return [by_token[token] for token in tokens if token in by_token]


def bind(tokens, sender, message_id: int) -> int:
    """Make the sender's unbound uploads named by `tokens` part of the message, in the
    caller's transaction; returns how many were bound."""
    tokens = list(tokens)
    if not tokens:
        return 0
    return db.session.execute(
        update(Attachment)
        .where(
            Attachment.token.in_(tokens),
            Attachment.uploaded_by_id == sender.id,
            Attachment.organisation_id == sender.organisation_id,
            Attachment.message_id.is_(None),
        )
        .values(message_id=message_id)
        .execution_options(synchronize_session=False)
    ).rowcount


def delete_stale_uploads(now=None) -> int:
    """Delete uploads that no message took within a day; returns how many. For a
    periodic job (they are drafts someone left, and may hold pictures of children)."""
    cutoff = (now or utcnow()) - STALE_AFTER
    deleted = db.session.execute(
        delete(Attachment)
        .where(Attachment.message_id.is_(None), Attachment.created_at < cutoff)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return deleted


def clean_filename(name: str) -> str:
    """The last part of a browser-sent file name, without control characters, shortened."""
    name = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip(" .")
    stem, suffix = os.path.splitext(name)
    if len(name) > FILENAME_MAX:
        suffix = suffix[:10]
        name = stem[: FILENAME_MAX - len(suffix)] + suffix
    return name or _("bild")


def _with_extension(name: str, kind: str) -> str:
    """The file name ending as its content is (a PNG called .jpg gets .png added)."""
    if name.lower().endswith(EXTENSIONS[kind]):
        return name
    return name + EXTENSIONS[kind][0]
