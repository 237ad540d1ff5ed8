"""The storefront simulator's pacing and its patience, against a gateway that records what it
is sent (a small real subclass of the client, no HTTP)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from gateway.demo.client import DemoError, Gateway, Json
from gateway.demo.simulator import Simulation


class RecordingGateway(Gateway):
    """Takes every batch; the ones numbered in `failing` fail as a restarting gateway would.
    After `stop_after` batches it sets `stop`, as Ctrl-C would."""

    def __init__(self, stop: threading.Event, *, stop_after: int, failing: frozenset[int]) -> None:
        super().__init__("http://gateway.invalid", "demo-key")
        self.batches: list[list[Json]] = []
        self.stop, self.stop_after, self.failing = stop, stop_after, failing

    def post(self, path: str, body: Json, *, ok: tuple[int, ...] = (200, 201)) -> Json:
        assert (path, ok) == ("/v1/customer-events", (202,))
        self.batches.append(body["events"])
        if len(self.batches) >= self.stop_after:
            self.stop.set()
        if len(self.batches) - 1 in self.failing:
            raise DemoError("POST /v1/customer-events: 502 Upstream unavailable")
        return {"accepted": len(body["events"]), "duplicates": 0, "rejected": []}


def simulate(*, rate: float, batches: int, failing: frozenset[int] = frozenset()) -> Any:
    stop = threading.Event()
    gateway = RecordingGateway(stop, stop_after=batches, failing=failing)
    said: list[str] = []
    try:
        sent = Simulation(gateway, rate=rate, duration_s=None, stop=stop, say=said.append).run()
    finally:
        gateway.close()
    return gateway.batches, sent, said


def test_a_fractional_rate_is_kept_over_batches_of_whole_events() -> None:
    batches, sent, said = simulate(rate=2.5, batches=3)
    assert [len(batch) for batch in batches] == [2, 3, 2]
    assert sent.total() == 7
    assert said[-1].endswith("7 in all")


def test_a_failed_batch_is_reported_and_the_simulation_goes_on() -> None:
    batches, sent, said = simulate(rate=2, batches=3, failing=frozenset({1}))
    assert len(batches) == 3
    assert sent.total() == 4
    assert any(line.startswith("could not send 2 events: POST") for line in said)


def test_when_nothing_ever_got_through_it_stops_with_the_error() -> None:
    with pytest.raises(DemoError, match="502"):
        simulate(rate=2, batches=3, failing=frozenset({0}))
