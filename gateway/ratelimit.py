"""Rate limits per key (a token's subject, or a client IP): in this process, or in Redis.

Without `PRODUCTOPS_REDIS_URL` each gateway process keeps its own token buckets
(`RateLimiter`), so N replicas allow N times every limit. With it, the limits live in Redis
(`SharedRateLimiter`, gateway/shared_limits.py) and every replica spends one budget.
The gateway's runtime picks one from the settings; both raise the same 429 with
`Retry-After`.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from shared.errors import TooManyRequests


class Limiter(Protocol):
    """Takes a request's share of a key's budget, or raises 429."""

    async def hit(self, key: str, *, what: str = "requests", cost: int = 1) -> None:
        """Count `cost` (one request, or a batch's events) for `key`; raise
        `TooManyRequests` when its budget cannot pay it, taking nothing."""
        ...

    async def close(self) -> None:
        """Let go of any connection (idempotent)."""
        ...


def too_many(what: str, retry_after: int) -> TooManyRequests:
    """The 429 problem both limiters raise, with `Retry-After` in whole seconds (at least 1)."""
    retry_after = max(1, retry_after)
    return TooManyRequests(
        f"too many {what}; retry in {retry_after} s",
        headers={"Retry-After": str(retry_after)},
        retry_after=retry_after,
    )


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per key: `rate` tokens a second, holding at most `burst`.

    The map is bounded: buckets idle long enough to have refilled are dropped (a fresh bucket
    is identical), and past `max_keys` the least recently used one goes, so memory cannot
    grow without end however many keys callers invent. Limits hold per gateway process.
    """

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

    async def hit(self, key: str, *, what: str = "requests", cost: int = 1) -> None:
        """Take `cost` tokens for `key` (one a request, or one an event of a batch), or raise
        429 with `Retry-After` when fewer are left; a refused hit takes nothing."""
        # Async only to share the `Limiter` interface: nothing here awaits, so no other
        # request touches the buckets in between.
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
        raise too_many(what, math.ceil((cost - bucket.tokens) / self.rate))

    async def close(self) -> None:
        return None

    def _evict(self, now: float) -> None:
        while self._buckets:
            key, oldest = next(iter(self._buckets.items()))
            idle_and_full = now - oldest.updated >= self._refill_s
            if not idle_and_full and len(self._buckets) < self.max_keys:
                return
            del self._buckets[key]
