"""Logging without personal data: phone numbers and e-mail addresses are masked in
every record the root logger's handlers write, and production logs are JSON lines.

`install()` is called by the application factory and by the worker entry. It puts
`PersonalDataFilter` on the root logger and on each of its handlers (a filter on a
logger does not see records propagated from child loggers; one on a handler does),
and adds one stream handler of its own when the root logger has none.
"""

import json
import logging
import re
from datetime import UTC, datetime

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

# +46701234567, +46 70 123 45 67, 0046701234567, 070-123 45 67, 08-123 456 78, 46701234567,
# +46 (0)70-123 45 67, (070) 123 45 67: at least eight digits. A national number never
# starts 00 unless a country code follows, so zero-padded serials (SMS-2026-000001) are
# left alone.
PHONE = re.compile(
    r"(?<![\w+])(?:\+[1-9]|00[1-9]|\(?0[1-9]|46[ -]?7)"
    r"(?:(?:[ -]|\)[ -]?|[ -]?\(0\)[ -]?)?\d){6,14}(?![\w@]|-\w)"
)
EMAIL = re.compile(r"[\w.%+-]+@((?:[\w-]+\.)+[\w-]{2,})", re.UNICODE)


def mask_text(text):
    """`text` with e-mail addresses as '***@domain' and phone numbers as '+46*******67'."""
    text = EMAIL.sub(r"***@\1", text)
    return PHONE.sub(_mask_number, text)


def _mask_number(match):
    number = match.group()
    keep_start = 3 if number.startswith("+") else 0
    digits = [i for i, char in enumerate(number) if char.isdigit() and i >= keep_start]
    hidden = set(digits[:-2])
    return "".join("*" if i in hidden else char for i, char in enumerate(number))


class PersonalDataFilter(logging.Filter):
    """Masks the message (with its arguments) and any traceback of a record, in place."""

    def filter(self, record):
        if getattr(record, "personal_data_masked", False):
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError, KeyError):  # a bad format call must not break the caller
            message = f"{record.msg} {record.args!r}"
        record.msg = mask_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        record.personal_data_masked = True
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message and any traceback."""

    def format(self, record):
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


class PortalHandler(logging.StreamHandler):
    """The handler `install` adds when nobody configured logging (stderr)."""


def install(*, production=False, level=None):
    """Mask personal data in all logging through the root logger; idempotent."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(PortalHandler())
        if level is None and root.level > logging.INFO:
            level = logging.INFO
    for handler in root.handlers:
        if isinstance(handler, PortalHandler):
            handler.setFormatter(JsonFormatter() if production else logging.Formatter(PLAIN_FORMAT))
        _add_filter_once(handler)
    _add_filter_once(root)
    if level is not None:
        root.setLevel(level)


def mask_loggers(*names):
    """Mask personal data in loggers that keep handlers of their own and do not pass
    their lines to the root logger (gunicorn's error and access logs). The filter sits
    on the logger, which every line logged there passes before any handler, so handlers
    set up again later (gunicorn does on a reload) get masked lines too."""
    for name in names:
        _add_filter_once(logging.getLogger(name))


def _add_filter_once(filterer):
    if not any(isinstance(existing, PersonalDataFilter) for existing in filterer.filters):
        filterer.addFilter(PersonalDataFilter())
