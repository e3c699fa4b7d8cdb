"""The SMS provider of this process, the sender name and the delivery-report callback.

`get_provider()` builds the provider named by SMS_PROVIDER once per process (a forked
worker builds its own, so no pooled connection is shared across a fork) and keeps it
in `current_app.extensions`.
"""

import hashlib
import hmac
import os
import threading

from flask import current_app
from flask_babel import gettext as _

from portal.sms.providers.console import ConsoleProvider
from portal.sms.providers.elks import ElksProvider
from portal.sms.sender import MAX_LENGTH, is_valid_sender

DELIVERY_TOKEN_LABEL = b"46elks delivery reports"
DELIVERY_PATH = "/hooks/46elks/delivery"
_EXTENSION = "sms_provider"
_building = threading.Lock()


def get_provider():
    """This process's provider for the current app, created on first use."""
    extensions = current_app.extensions
    entry = extensions.get(_EXTENSION)
    if entry is None or entry[0] != os.getpid():
        with _building:
            entry = extensions.get(_EXTENSION)
            if entry is None or entry[0] != os.getpid():
                entry = extensions[_EXTENSION] = (os.getpid(), _build(current_app.config))
    return entry[1]


def _build(config):
    if config["SMS_PROVIDER"] == "46elks":
        return ElksProvider(
            config["ELKS_API_URL"], config["ELKS_API_USERNAME"], config["ELKS_API_PASSWORD"]
        )
    return ConsoleProvider()


def validate_sender(name: str) -> str:
    """`name` when it is a usable sender id, else ValueError with a Swedish message."""
    if not is_valid_sender(name):
        raise ValueError(
            _(
                "Avsändarnamnet ska vara 1–%(max)d tecken: bokstäver A–Z utan å, ä och ö, "
                "siffror eller bindestreck, och minst en bokstav.",
                max=MAX_LENGTH,
            )
        )
    return name


def sender_for(organisation) -> str:
    """The organisation's own sender name, else the deployment's SMS_SENDER."""
    return organisation.sms_sender or current_app.config["SMS_SENDER"]


def delivery_token() -> str:
    """The secret in the callback URL, derived from SECRET_KEY (nothing more to configure)."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, DELIVERY_TOKEN_LABEL, hashlib.sha256).hexdigest()


def delivery_callback_url() -> str:
    """Where 46elks reports delivery: `whendelivered` of every SMS."""
    return f"{current_app.config['PUBLIC_BASE_URL']}{DELIVERY_PATH}?token={delivery_token()}"
