"""Provider call statistics in Redis: one hash per minute, kept for about two hours.

The sending pipeline calls `record_provider_calls` once per chunk it sent (one
pipelined round trip); the operations page reads the last hour with `provider_stats`.
"""

import time
from dataclasses import dataclass

from portal.queue import redis_connection

KEY_PREFIX = "portal:provider-calls:"
KEEP_SECONDS = 2 * 3600


@dataclass(frozen=True)
class ProviderStats:
    calls: int
    errors: int
    seconds: float

    @property
    def error_rate(self):
        """Share of calls that failed, 0.0–1.0; None without calls."""
        return self.errors / self.calls if self.calls else None

    @property
    def mean_latency_ms(self):
        return 1000 * self.seconds / self.calls if self.calls else None


def record_provider_calls(calls: int, errors: int, seconds: float, now=None):
    """Add `calls` provider calls, `errors` of them failed, taking `seconds` in all."""
    if calls <= 0:
        return
    key = _key(_minute(now))
    pipe = redis_connection().pipeline(transaction=False)
    pipe.hincrby(key, "calls", calls)
    pipe.hincrby(key, "errors", errors)
    pipe.hincrbyfloat(key, "seconds", seconds)
    pipe.expire(key, KEEP_SECONDS)
    pipe.execute()


def provider_stats(minutes=60, now=None):
    """Totals over the last `minutes` minutes, this one included."""
    last = _minute(now)
    pipe = redis_connection().pipeline(transaction=False)
    for minute in range(last - minutes + 1, last + 1):
        pipe.hmget(_key(minute), "calls", "errors", "seconds")
    calls = errors = 0
    seconds = 0.0
    for bucket_calls, bucket_errors, bucket_seconds in pipe.execute():
        calls += int(bucket_calls or 0)
        errors += int(bucket_errors or 0)
        seconds += float(bucket_seconds or 0)
    return ProviderStats(calls, errors, seconds)


def _minute(now):
    return int((time.time() if now is None else now) // 60)


def _key(minute):
    return f"{KEY_PREFIX}{minute}"
