"""Capped exponential backoff with jitter, on a fixed random source, and the consumers' rebuild
loop on stand-in clients: no I/O, sleeps of zero."""

from __future__ import annotations

import asyncio

import pytest

from shared.backoff import Backoff, rebuild_until_cancelled


def test_delays_double_up_to_the_cap_without_jitter():
    backoff = Backoff(first_s=0.5, cap_s=30.0, jitter=0.0)
    assert [backoff.delay(n) for n in range(1, 10)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]


def test_jitter_takes_off_at_most_its_share():
    lowest = Backoff(first_s=1.0, cap_s=8.0, jitter=0.5, rand=lambda: 0.999999)
    highest = Backoff(first_s=1.0, cap_s=8.0, jitter=0.5, rand=lambda: 0.0)
    assert [highest.delay(n) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 8, 8]
    assert [round(lowest.delay(n), 3) for n in (1, 2, 3, 4, 5)] == [0.5, 1, 2, 4, 4]


def test_the_default_random_source_stays_within_the_bounds():
    backoff = Backoff(first_s=0.2, cap_s=10.0)
    for attempt in range(1, 50):
        base = min(10.0, 0.2 * 2 ** (attempt - 1))
        assert base / 2 <= backoff.delay(attempt) <= base


def test_a_huge_attempt_number_stays_at_the_cap():
    backoff = Backoff(first_s=0.1, cap_s=10.0, factor=3.0, jitter=0.0)
    assert backoff.delay(100_000) == 10.0


def test_another_factor():
    backoff = Backoff(first_s=1.0, cap_s=100.0, factor=1.5, jitter=0.0)
    assert [backoff.delay(n) for n in (1, 2, 3)] == [1.0, 1.5, 2.25]


@pytest.mark.parametrize(
    "fields",
    [
        {"first_s": -1.0, "cap_s": 1.0},
        {"first_s": 2.0, "cap_s": 1.0},
        {"first_s": 1.0, "cap_s": 2.0, "factor": 0.5},
        {"first_s": 1.0, "cap_s": 2.0, "jitter": 1.5},
    ],
)
def test_nonsense_settings_are_refused(fields):
    with pytest.raises(ValueError):  # noqa: PT011 - the message varies by field
        Backoff(**fields)


def test_attempts_count_from_one():
    with pytest.raises(ValueError, match="from 1"):
        Backoff(first_s=1.0, cap_s=2.0).delay(0)


class FlakyClient:
    """Fails to start `failing_starts` times, then serves until cancelled; records each call."""

    def __init__(self, failing_starts: int) -> None:
        self.failing_starts = failing_starts
        self.calls: list[str] = []
        self.serving = asyncio.Event()

    async def start(self) -> None:
        self.calls.append("start")
        if self.failing_starts:
            self.failing_starts -= 1
            raise ConnectionError("broker away")

    async def serve(self) -> None:
        self.calls.append("serve")
        self.serving.set()
        await asyncio.Event().wait()

    async def stop(self) -> None:
        self.calls.append("stop")


async def test_the_rebuild_loop_stops_and_starts_again_after_each_failure_until_cancelled():
    client = FlakyClient(failing_starts=2)
    failures: list[str] = []
    loop = asyncio.create_task(
        rebuild_until_cancelled(
            start=client.start,
            serve=client.serve,
            stop=client.stop,
            backoff=Backoff(first_s=0.0, cap_s=0.0),
            failed=lambda exc: failures.append(str(exc)),
        )
    )
    async with asyncio.timeout(5):
        await client.serving.wait()
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop
    assert failures == ["broker away", "broker away"]
    # Stopped after every round, the cancelled one too.
    assert client.calls == ["start", "stop", "start", "stop", "start", "serve", "stop"]
