"""Capped exponential backoff with jitter: how long a retry loop waits before trying again.

One policy for every loop that retries after a failure (topic creation, the due jobs of
`shared.due`, the outbox relay, the consumer, the live feed, the triage worker, the stack
supervisor's restarts), each with its own constants, in this shape:

    RETRY = Backoff(first_s=0.1, cap_s=settings.relay_max_backoff_s)
    failures = 0
    while True:
        try:
            await step()
            failures = 0
        except Exception:
            failures += 1
            await asyncio.sleep(RETRY.delay(failures))
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backoff:
    """Delays growing by `factor` from `first_s` up to `cap_s`, less a random share.

    `delay(attempt)` is `min(cap_s, first_s * factor ** (attempt - 1))` times a number
    drawn uniformly from `[1 - jitter, 1]`: "equal jitter" (AWS Architecture Blog,
    "Exponential Backoff and Jitter"), so that many processes failing together do not
    retry in step, while no delay is shorter than `1 - jitter` of its base. `jitter=0`
    gives the exact series. A delay never exceeds `cap_s`, whatever the attempt.
    """

    first_s: float
    cap_s: float
    factor: float = 2.0
    jitter: float = 0.5
    # The random source, in [0, 1); tests pass a fixed one.
    rand: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.first_s <= self.cap_s:
            raise ValueError("need 0 <= first_s <= cap_s")
        if self.factor < 1:
            raise ValueError("factor must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt` (1 for the first retry)."""
        if attempt < 1:
            raise ValueError("attempts count from 1")
        try:
            base = min(self.cap_s, self.first_s * self.factor ** (attempt - 1))
        except OverflowError:  # far past the cap
            base = self.cap_s
        return base * (1 - self.jitter * self.rand())


async def rebuild_until_cancelled(
    *,
    start: Callable[[], Awaitable[None]],
    serve: Callable[[], Awaitable[None]],
    stop: Callable[[], Awaitable[None]],
    backoff: Backoff,
    failed: Callable[[Exception], None],
) -> None:
    """Start a client and `serve` with it until cancelled. After any failure (of `start` or
    `serve`), `failed` is told, `backoff`'s delay passes, and the client is stopped and built
    again; `stop` runs however the round ends. The first good start resets the delays.

    The loop of the Kafka consumers (a service's group, the gateway's live feed), which
    must outlive a broker that restarts or forgets its topics.
    """
    failures = 0
    while True:
        try:
            await start()
            failures = 0
            await serve()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failures += 1
            failed(exc)
            await asyncio.sleep(backoff.delay(failures))
        finally:
            await stop()
