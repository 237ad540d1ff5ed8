"""Gateway fixtures: a real upstream server, a port where nothing listens, the real services
as processes, and the rate limiters' time that moves only when a test says so."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from shared.broker import EmbeddedBroker
from shared.settings import Settings
from tests.gateway.services import ServiceProcess, running_services
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


@pytest.fixture(scope="package")
def broker() -> Iterator[EmbeddedBroker]:
    """The gateway tests' own broker, in place of the session's: the real service processes
    join the consumer groups catalog, feedback, launch and pricing, which would take
    partitions from other packages' tests of those groups on a shared broker."""
    with EmbeddedBroker() as running:
        yield running


@pytest.fixture(scope="package")
def real_services(
    broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, ServiceProcess]]:
    """Catalog, feedback, launch and pricing as real processes, started once for the gateway
    tests that take them and stopped after the last; each test module seeds data of its own."""
    data_dir = tmp_path_factory.mktemp("services")
    with running_services(
        ["catalog", "feedback", "launch", "pricing"], data_dir=data_dir, bootstrap=broker.bootstrap
    ) as services:
        yield services


@pytest.fixture
def view_settings(
    make_settings: Callable[..., Settings], real_services: dict[str, ServiceProcess]
) -> Settings:
    """Gateway settings routing to the real services (and on their broker), with a view
    budget of 10 s rather than the default 0.8 s: under the other test worker's load a
    service that is up can take seconds, and only a frozen one should look degraded. The
    hung-service tests wait the budget out, which is what it costs."""
    ports = {f"{name}_port": service.port for name, service in real_services.items()}
    return make_settings(**ports, view_budget_s=10)


class Ticks:
    """Monotonic seconds that move only when a test moves them (`ticks.now += 2`)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
