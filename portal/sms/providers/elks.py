"""The 46elks HTTP API (https://46elks.se/docs): one form POST to `<ELKS_API_URL>/sms` per
SMS, HTTP basic auth, fields `from`, `to` (E.164), `message` and `whendelivered` (the
delivery-report callback). The JSON answer gives the SMS `id`, its `parts` (what it
bills) and its `cost` in 1/10 000 of the account currency.

How answers become errors (DESIGN.md §4):
- 429 and 5xx, timeouts, refused or dropped connections and a 2xx whose body is not the
  expected JSON are `TransientError`: try again later (`Retry-After` honoured, in
  seconds or as an HTTP date).
- Other 4xx are `PermanentError`, with a Swedish reason when 46elks' plain-text error
  names the field (`to`, `from`, `message`), else a generic one with the status code.
- 401 (wrong credentials), 404/407 (wrong ELKS_API_URL or proxy) and a 403 that is not
  about this SMS (no credit left, account blocked) are problems of the configuration
  or the account, not of the recipient: failing every recipient permanently for them
  would throw a whole send away over one typo. They are transient, so sending resumes
  once the operator fixes it, and recipients still fail as a technical failure after
  the pipeline's maximum age; each is logged as an error for the operator.

One pooled `httpx.Client` (keep-alive) per provider, so one per worker process. What
every client would otherwise build again, the TLS context (reading the CA bundle) and
httpx's transport modules, is made once when this module is imported: the worker
imports it before forking, so a work horse (one per batch job) starts sending at once
instead of spending as long as 100 SMS take on it. httpx's own INFO line per request
(one per SMS) is left out; its warnings and this module's log remain.
"""

import logging
import math
import re
import time
import weakref
from email.utils import parsedate_to_datetime

import httpcore  # noqa: F401 - imported here, once, rather than by each client
import httpx
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.sms.phone import mask
from portal.sms.providers.base import Accepted, Outgoing, PermanentError, TransientError

log = logging.getLogger(__name__)
logging.getLogger("httpx").setLevel(logging.WARNING)
TLS_CONTEXT = httpx.create_ssl_context()  # httpx's default verification, built once

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 15.0
CONFIGURATION_STATUSES = {401, 403, 404, 407}
RETRY_STATUSES = {408, 425, 429}

INVALID_NUMBER = _l("Ogiltigt mobilnummer")
INVALID_SENDER = _l("Ogiltigt avsändarnamn")
MESSAGE_TOO_LONG = _l("Meddelandet är för långt")
MESSAGE_EMPTY = _l("Meddelandet är tomt")
NO_CREDIT = _l("Kontot hos SMS-leverantören saknar saldo")
BAD_CREDENTIALS = _l("SMS-leverantören godkände inte inloggningen (ELKS_API_USERNAME/PASSWORD)")
TIMED_OUT = _l("SMS-leverantören svarade inte i tid")
UNREACHABLE = _l("Kunde inte ansluta till SMS-leverantören")
UNEXPECTED_ANSWER = _l("Oväntat svar från SMS-leverantören")

# 46elks answers errors in plain text ("Invalid to number", "Missing key message", …);
# the wording is not a documented contract, so it is recognised by the field it names.
_REASONS = (
    (re.compile(r"credit|balance|funds", re.I), NO_CREDIT),
    (re.compile(r"\bfrom\b|sender", re.I), INVALID_SENDER),
    (re.compile(r"\bto\b|recipient|number", re.I), INVALID_NUMBER),
    (re.compile(r"too long|length", re.I), MESSAGE_TOO_LONG),
    (re.compile(r"\bmessage\b", re.I), MESSAGE_EMPTY),
)
_DIGITS = re.compile(r"\+?\d[\d ]{5,}")


class ElksProvider:
    name = "46elks"

    def __init__(
        self,
        api_url: str,
        username: str,
        password: str,
        *,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
    ):
        self.url = f"{api_url.rstrip('/')}/sms"
        self._client = httpx.Client(
            auth=(username, password),
            verify=TLS_CONTEXT,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            headers={"User-Agent": "SMS-portalen"},
        )
        # A provider dropped with its app must not leave sockets for the GC to warn about.
        weakref.finalize(self, self._client.close)

    def send(self, outgoing: Outgoing) -> Accepted:
        form = {"from": outgoing.sender, "to": outgoing.to, "message": outgoing.text}
        if outgoing.callback_url:
            form["whendelivered"] = outgoing.callback_url
        try:
            response = self._client.post(self.url, data=form)
        except httpx.TimeoutException:
            raise TransientError(str(TIMED_OUT)) from None
        except httpx.TransportError:
            raise TransientError(str(UNREACHABLE)) from None
        if response.is_success:
            return _accepted(response)
        raise _refusal(response, outgoing)

    def close(self):
        self._client.close()


def _accepted(response: httpx.Response) -> Accepted:
    try:
        answer = response.json()
        provider_id, parts, cost = answer["id"], answer["parts"], answer.get("cost")
    except (ValueError, KeyError, TypeError, AttributeError):
        raise TransientError(str(UNEXPECTED_ANSWER)) from None
    valid = (
        isinstance(provider_id, str)
        and provider_id
        and _is_count(parts)
        and parts >= 1
        and (cost is None or _is_count(cost))
    )
    if not valid:
        raise TransientError(str(UNEXPECTED_ANSWER))
    return Accepted(provider_id=provider_id, parts=parts, cost=cost)


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _refusal(response: httpx.Response, outgoing: Outgoing):
    status, text = response.status_code, response.text[:200]
    reason = _recognised(text)
    log.warning(
        "46elks refused the SMS to %s with HTTP %d: %s",
        mask(outgoing.to),
        status,
        _DIGITS.sub("…", text),
    )
    if status >= 500 or status in RETRY_STATUSES:
        return TransientError(
            _("SMS-leverantören svarade med HTTP %(status)d", status=status),
            retry_after=retry_after(response.headers.get("Retry-After")),
        )
    if status == 401:
        log.error("46elks does not accept ELKS_API_USERNAME/ELKS_API_PASSWORD")
        return TransientError(str(BAD_CREDENTIALS))
    if reason is NO_CREDIT or (reason is None and status in CONFIGURATION_STATUSES):
        log.error("46elks refused the account (HTTP %d); check it and ELKS_API_URL", status)
        return TransientError(
            str(reason or _("SMS-leverantören nekade kontot (HTTP %(status)d)", status=status))
        )
    if reason is None:
        return PermanentError(
            _("SMS-leverantören tog inte emot SMS:et (HTTP %(status)d)", status=status)
        )
    return PermanentError(str(reason))


def _recognised(text: str):
    return next((reason for pattern, reason in _REASONS if pattern.search(text)), None)


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = _seconds_until(value)
    return max(seconds, 0.0) if seconds is not None and math.isfinite(seconds) else None


def _seconds_until(http_date: str) -> float | None:
    try:
        when = parsedate_to_datetime(http_date)
    except (TypeError, ValueError):
        return None
    return when.timestamp() - time.time() if when.tzinfo else None
