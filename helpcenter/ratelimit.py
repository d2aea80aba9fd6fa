"""Per-user token bucket: a burst of messages always goes through, a flood does not."""

from __future__ import annotations

import time
from collections.abc import Callable


class RateLimiter:
    def __init__(self, burst: int = 10, per_second: float = 1 / 3,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.burst, self.rate, self.clock = burst, per_second, clock
        self._buckets: dict[int, tuple[float, float]] = {}  # user -> (tokens, last time)

    def allow(self, user_id: int) -> bool:
        now = self.clock()
        tokens, last = self._buckets.get(user_id, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        allowed = tokens >= 1
        self._buckets[user_id] = (tokens - 1 if allowed else tokens, now)
        return allowed
