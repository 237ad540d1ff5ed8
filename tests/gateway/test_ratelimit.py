"""The in-process token bucket limiter, on a fake clock: no I/O."""

from __future__ import annotations

import pytest

from gateway.ratelimit import RateLimiter
from shared.errors import TooManyRequests
from tests.gateway.conftest import Ticks as Clock


async def test_a_burst_passes_then_the_next_call_waits_for_a_token() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=0.5, burst=3, clock=clock)
    for _ in range(3):
        await limiter.hit("k")

    with pytest.raises(TooManyRequests) as raised:
        await limiter.hit("k")

    assert raised.value.extra["headers"] == {"Retry-After": "2"}
    clock.now += 2
    await limiter.hit("k")


async def test_retry_after_is_at_least_one_second() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=100.0, burst=1, clock=clock)
    await limiter.hit("k")

    with pytest.raises(TooManyRequests) as raised:
        await limiter.hit("k")

    assert raised.value.extra["retry_after"] == 1


async def test_keys_have_their_own_buckets() -> None:
    limiter = RateLimiter(rate=1.0, burst=1, clock=Clock())
    await limiter.hit("a")

    await limiter.hit("b")
    with pytest.raises(TooManyRequests):
        await limiter.hit("a")


async def test_idle_buckets_are_dropped_once_they_would_be_full() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=1.0, burst=2, clock=clock)
    for key in ("a", "b", "c"):
        await limiter.hit(key)
    clock.now += 2

    await limiter.hit("d")

    assert len(limiter) == 1


async def test_the_map_never_holds_more_than_max_keys() -> None:
    limiter = RateLimiter(rate=1.0, burst=5, max_keys=100, clock=Clock())

    for n in range(10_000):
        await limiter.hit(f"ip-{n}")

    assert len(limiter) == 100
