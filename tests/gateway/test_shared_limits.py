"""Rate limits shared by gateway replicas through Redis, and what happens without Redis."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypedDict

import pytest
from prometheus_client import REGISTRY

from gateway.app import create_app
from gateway.ratelimit import RateLimiter
from gateway.shared_limits import SharedRateLimiter, moving_window
from shared.broker import free_port
from shared.errors import TooManyRequests
from shared.settings import Settings
from tests.gateway.conftest import Ticks
from tests.support import assert_problem, auth, drop_redis_keys, running


class Budget(TypedDict):
    rate: float
    burst: int


# A budget that cannot refill during a test: 3 requests per 300 s window.
SLOW: Budget = {"rate": 0.01, "burst": 3}


def replica(
    limits: dict[str, str], *, name: str = "caller", clock: Ticks | None = None
) -> SharedRateLimiter:
    """A limiter as one gateway replica holds it."""
    clock = clock or Ticks()
    return SharedRateLimiter(
        url=limits["redis_url"],
        key_prefix=limits["redis_key_prefix"],
        name=name,
        fallback=RateLimiter(**SLOW, clock=clock),
        monotonic=clock,
        **SLOW,
    )


def fallbacks(limiter: str) -> float:
    return (
        REGISTRY.get_sample_value("productops_rate_limit_fallback_total", {"limiter": limiter})
        or 0.0
    )


@pytest.mark.parametrize(
    ("rate", "burst", "amount", "window_s"),
    [(50.0, 200, 200, 4), (0.5, 3, 3, 6), (100.0, 1, 100, 1), (2.0, 5, 6, 3)],
)
def test_a_token_bucket_becomes_the_moving_window_of_its_rate_and_burst(
    rate: float, burst: int, amount: int, window_s: int
) -> None:
    item = moving_window(rate, burst)

    assert (item.amount, item.get_expiry()) == (amount, window_s)


async def test_two_replicas_spend_one_budget(redis_limits: dict[str, str]) -> None:
    first, second = replica(redis_limits), replica(redis_limits)
    try:
        await first.hit("key-a")
        await second.hit("key-a")
        await first.hit("key-a")

        with pytest.raises(TooManyRequests) as raised:
            await second.hit("key-a")
        await second.hit("key-b")  # another caller has a budget of its own
    finally:
        await first.close()
        await second.close()

    retry_after = raised.value.extra["retry_after"]
    assert 1 <= retry_after <= 300
    assert raised.value.extra["headers"] == {"Retry-After": str(retry_after)}
    assert first.shared
    assert second.shared


async def test_limiters_of_another_name_do_not_share_a_key(redis_limits: dict[str, str]) -> None:
    caller, login = replica(redis_limits, name="caller"), replica(redis_limits, name="login")
    try:
        for _ in range(3):
            await caller.hit("127.0.0.1")

        await login.hit("127.0.0.1")
    finally:
        await caller.close()
        await login.close()


async def test_without_redis_each_replica_limits_on_its_own_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Ticks()
    down = {"redis_url": f"redis://127.0.0.1:{free_port()}/0", "redis_key_prefix": "po-down"}
    limiter = replica(down, name="caller-down", clock=clock)
    before = fallbacks("caller-down")
    try:
        with caplog.at_level(logging.WARNING, logger="gateway.shared_limits"):
            for _ in range(3):
                await limiter.hit("key-a")
            with pytest.raises(TooManyRequests):
                await limiter.hit("key-a")
            clock.now += 10  # past the retry period: Redis is asked again, and fails again
            await limiter.hit("key-b")
    finally:
        await limiter.close()

    assert not limiter.shared
    assert fallbacks("caller-down") - before == 5
    warnings = [r for r in caplog.records if "store unreachable" in r.getMessage()]
    assert len(warnings) == 1  # once per outage, not once per request


async def test_two_gateway_apps_answer_429_once_their_shared_budget_is_spent(
    make_settings: Callable[..., Settings], redis_limits: dict[str, str]
) -> None:
    settings = make_settings(rate_limit_burst=3, rate_limit_per_s=0.01, **redis_limits)
    headers = auth("admin", subject="limited-caller")
    answers = []
    async with (
        running(create_app(settings, services=[])) as first,
        running(create_app(settings, services=[])) as second,
    ):
        for client in (first, second, first, second, first):
            answers.append(await client.get("/v1/api-keys", headers=headers))

    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    limited = assert_problem(answers[3], 429, detail_has="too many requests")
    assert limited["retry_after"] >= 1
    assert int(answers[3].headers["retry-after"]) >= 1


async def test_the_limits_live_under_the_key_prefix(redis_limits: dict[str, str]) -> None:
    limiter = replica(redis_limits)
    try:
        await limiter.hit("key-a")
    finally:
        await limiter.close()

    assert await drop_redis_keys(redis_limits["redis_key_prefix"]) == 1


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379", "127.0.0.1:6379", "async+redis://x"])
def test_the_redis_url_must_name_a_redis_scheme(url: str) -> None:
    with pytest.raises(ValueError, match="redis://"):
        Settings(redis_url=url)
