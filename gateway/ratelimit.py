"""In-memory token buckets, one per key (a token's subject, or a client IP).

The map is bounded: buckets idle long enough to have refilled are dropped (a fresh bucket
is identical), and past `max_keys` the least recently used one goes, so memory cannot grow
without end however many keys callers invent. Limits hold per gateway process.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from shared.errors import TooManyRequests


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per key: `rate` tokens a second, holding at most `burst`."""

    def __init__(
        self,
        *,
        rate: float,
        burst: int,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._clock = clock
        self._refill_s = burst / rate
        # Ordered by last use, oldest first, so eviction only ever looks at the front.
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def hit(self, key: str, *, what: str = "requests", cost: int = 1) -> None:
        """Take `cost` tokens for `key` (one a request, or one an event of a batch), or raise
        429 with `Retry-After` when fewer are left; a refused hit takes nothing."""
        now = self._clock()
        self._evict(now)
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            bucket = _Bucket(tokens=float(self.burst), updated=now)
        else:
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate)
            bucket.updated = now
        self._buckets[key] = bucket
        if bucket.tokens >= cost:
            bucket.tokens -= cost
            return
        retry_after = max(1, math.ceil((cost - bucket.tokens) / self.rate))
        raise TooManyRequests(
            f"too many {what}; retry in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
            retry_after=retry_after,
        )

    def _evict(self, now: float) -> None:
        while self._buckets:
            key, oldest = next(iter(self._buckets.items()))
            idle_and_full = now - oldest.updated >= self._refill_s
            if not idle_and_full and len(self._buckets) < self.max_keys:
                return
            del self._buckets[key]
