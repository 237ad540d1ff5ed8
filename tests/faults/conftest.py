"""Fixtures of the fault suite: a whole stack per test (SQLite, or a private PostgreSQL), a
load driver and a ledger on it, and the figures each fault prints at the end of the run."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from tests.faults.ledger import Outcome
from tests.faults.scenario import Scenario, open_scenario
from tests.faults.stack import FaultStack, running_stack
from tests.support import PrivatePostgres

FIGURES = pytest.StashKey[list[str]]()
ONE_SERVER = ("catalog", "pricing")


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[FaultStack]:
    """The whole stack on SQLite files."""
    with running_stack(tmp_path) as running:
        yield running


@pytest.fixture
async def postgres_stack(
    tmp_path: Path, private_postgres: PrivatePostgres
) -> AsyncIterator[FaultStack]:
    """The whole stack with the catalog's and pricing's databases on the private PostgreSQL
    server, feedback's and the gateway's on SQLite: when that server restarts, storefront
    events keep coming in and flowing to the consumers whose database is away."""
    urls = {name: await private_postgres.create_database(name) for name in ONE_SERVER}
    with running_stack(tmp_path, database_urls=urls, postgres=private_postgres) as running:
        yield running


@pytest.fixture
async def scenario(stack: FaultStack) -> AsyncIterator[Scenario]:
    """Driver and ledger on the SQLite stack."""
    async with open_scenario(stack) as made:
        yield made


@pytest.fixture
async def postgres_scenario(postgres_stack: FaultStack) -> AsyncIterator[Scenario]:
    """Driver and ledger on the PostgreSQL stack."""
    async with open_scenario(postgres_stack) as made:
        yield made


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Callable[[Outcome], None]:
    """Print a fault's figures now, and again in the run's summary."""

    def record(outcome: Outcome) -> None:
        line = outcome.figures()
        print(line)
        request.config.stash.setdefault(FIGURES, []).append(line)

    return record


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    if lines := config.stash.get(FIGURES, []):
        terminalreporter.section("fault figures")
        for line in lines:
            terminalreporter.line(line)
