"""Rate limits every gateway replica shares, kept in Redis by the `limits` library.

The in-process token bucket (`rate` a second, at most `burst` at once) becomes a moving
window: at most `burst` requests in any `burst / rate` seconds (rounded up to whole seconds,
the library's unit; the amount then grows so the long-run rate stays `rate`). Both allow a
burst of `burst` and `rate` a second on average; the window frees a request when the oldest
one in it is `window` old rather than a token at a time. It is exact (one Redis list per
key, trimmed to `burst` entries, updated by one Lua script), so N replicas spend one budget.

When Redis does not answer (or answers slower than `timeout_s`), each replica
falls back to its own in-process buckets for `_RETRY_STORE_AFTER_S`, then tries Redis
again: the limits loosen to N times per key for the outage, but requests keep flowing and
every caller is still limited. Failing closed would turn a cache outage into a gateway
outage; failing open without limits would drop the flood protection exactly when something
is already wrong. Each fallback is counted (`productops_rate_limit_fallback_total`) and the
switch each way is logged.

The window's timestamps are the replicas' wall clocks: they must agree (NTP) to well
within a window.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable

from limits import RateLimitItemPerSecond
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import ConnectionPool
from redis.exceptions import RedisError

from gateway.ratelimit import RateLimiter, too_many
from shared.observability import RATE_LIMIT_FALLBACKS

log = logging.getLogger(__name__)

# How long a replica keeps to its own buckets before asking Redis again.
_RETRY_STORE_AFTER_S = 5.0
_STORE_ERRORS = (StorageError, RedisError, OSError, TimeoutError)


def moving_window(rate: float, burst: int) -> RateLimitItemPerSecond:
    """The moving window closest to a token bucket of `rate` a second holding `burst`."""
    window_s = max(1, math.ceil(burst / rate))
    return RateLimitItemPerSecond(max(burst, round(rate * window_s)), window_s)


class SharedRateLimiter:
    """One moving window per key in Redis, shared by every replica; see the module doc."""

    def __init__(
        self,
        *,
        url: str,
        key_prefix: str,
        name: str,
        rate: float,
        burst: int,
        fallback: RateLimiter,
        timeout_s: float = 0.5,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        # A pool of our own, so `close` can let go of its connections; no client-side
        # retries: a failed call falls back at once and Redis is tried again later.
        self._pool = ConnectionPool.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry_on_error=[],
        )
        storage = RedisStorage(
            "async+redis://",
            wrap_exceptions=True,
            implementation="redispy",
            key_prefix=key_prefix,
            # The library passes options through to the client untyped.
            connection_pool=self._pool,  # type: ignore[arg-type]
        )
        self._strategy = MovingWindowRateLimiter(storage)
        # The item's namespace keeps the caller and login limits apart in one key space.
        item = moving_window(rate, burst)
        self._item = RateLimitItemPerSecond(item.amount, item.multiples, namespace=name)
        self._fallback = fallback
        self._timeout_s = timeout_s
        self._monotonic = monotonic
        self._local_until: float | None = None

    @property
    def shared(self) -> bool:
        """False while Redis is taken for down and this replica limits on its own."""
        return self._local_until is None

    async def hit(self, key: str, *, what: str = "requests", cost: int = 1) -> None:
        """Count `cost` for `key` in Redis; 429 once the shared budget cannot pay it."""
        if self._local_until is not None and self._monotonic() < self._local_until:
            await self._local(key, what, cost)
            return
        try:
            async with asyncio.timeout(self._timeout_s):
                if await self._strategy.hit(self._item, key, cost=cost):
                    self._store_answered()
                    return
                stats = await self._strategy.get_window_stats(self._item, key)
        except _STORE_ERRORS as exc:
            self._store_failed(exc)
            await self._local(key, what, cost)
            return
        self._store_answered()
        # The window's times are wall-clock seconds (the library's).
        raise too_many(what, math.ceil(stats.reset_time - time.time()))

    async def close(self) -> None:
        await self._pool.disconnect()

    async def _local(self, key: str, what: str, cost: int) -> None:
        RATE_LIMIT_FALLBACKS.labels(self.name).inc()
        await self._fallback.hit(key, what=what, cost=cost)

    def _store_failed(self, exc: BaseException) -> None:
        if self._local_until is None:
            log.warning(
                "rate limit store unreachable: limits hold per replica until it answers",
                extra={"limiter": self.name, "error": f"{type(exc).__name__}: {exc}"},
            )
        self._local_until = self._monotonic() + _RETRY_STORE_AFTER_S

    def _store_answered(self) -> None:
        if self._local_until is not None:
            log.info("rate limit store answers again: limits shared", extra={"limiter": self.name})
        self._local_until = None
