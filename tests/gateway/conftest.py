"""Gateway fixtures: a real upstream server, a port where nothing listens, and the rate
limiters' time that moves only when a test says so."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.gateway.upstream import echo_app, refusing_port, serving


@pytest.fixture(scope="module")
async def upstream_port() -> AsyncIterator[int]:
    """The port of a live echo upstream, shared by a module's tests."""
    async with serving(echo_app()) as port:
        yield port


@pytest.fixture
async def dead_port() -> AsyncIterator[int]:
    async with refusing_port() as port:
        yield port


class Ticks:
    """Monotonic seconds that move only when a test moves them (`ticks.now += 2`)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
