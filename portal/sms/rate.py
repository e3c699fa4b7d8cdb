"""The pace of sending: SMS_RATE_PER_SECOND across every worker, and pauses the
provider asks for (429 with Retry-After), both kept in Redis.

The rate uses the `limits` library (the engine under Flask-Limiter) with a sliding
window counter; a worker takes its permits a slice at a time (one Redis round trip per
slice, not per SMS) and sleeps while the window is full or the provider has paused us.
"""

import time

from flask import current_app
from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from portal.queue import limits_storage_uri, redis_connection

LIMIT_KEY = "sms-provider"
PAUSE_KEY = "sms:paused-until"
MIN_SLEEP_SECONDS = 0.01


class SendRate:
    def __init__(self, redis_url: str, per_second: int, redis):
        self.per_second = per_second
        self.item = RateLimitItemPerSecond(per_second)
        self.limiter = SlidingWindowCounterRateLimiter(
            storage_from_string(limits_storage_uri(redis_url))
        )
        self.redis = redis

    def slices(self, total: int):
        """Sizes of the slices in which `total` SMS take their permits."""
        step = max(1, min(total, self.per_second))
        return [min(step, total - start) for start in range(0, total, step)]

    def acquire(self, count: int) -> None:
        """Block until `count` (≤ SMS_RATE_PER_SECOND) SMS may go to the provider."""
        while True:
            self.wait_while_paused()
            if self.limiter.hit(self.item, LIMIT_KEY, cost=count):
                return
            reset = self.limiter.get_window_stats(self.item, LIMIT_KEY).reset_time
            time.sleep(max(MIN_SLEEP_SECONDS, min(reset - time.time(), 1.0)))

    def pause(self, seconds: float) -> None:
        """The provider asked every sender to wait `seconds`; the latest answer counts."""
        self.redis.set(PAUSE_KEY, time.time() + seconds, px=max(1, int(seconds * 1000)))

    def paused_for(self) -> float:
        until = self.redis.get(PAUSE_KEY)
        return max(0.0, float(until) - time.time()) if until else 0.0

    def wait_while_paused(self) -> None:
        while (seconds := self.paused_for()) > 0:
            time.sleep(max(MIN_SLEEP_SECONDS, seconds))


def send_rate() -> SendRate:
    """This process's SendRate for the current app."""
    rate = current_app.extensions.get("sms_rate")
    if rate is None:
        rate = SendRate(
            current_app.config["REDIS_URL"],
            current_app.config["SMS_RATE_PER_SECOND"],
            redis_connection(),
        )
        current_app.extensions["sms_rate"] = rate
    return rate
