"""Fixtures the relay's tests share: the kernel's tables on each database, and a topic."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from shared.broker import EmbeddedBroker, ensure_topics
from shared.db import Database
from shared.tables import metadata


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """The kernel's tables (the outbox among them) on SQLite, then on PostgreSQL."""
    database = Database(database_url)
    await database.create_all([metadata])
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def topic(broker: EmbeddedBroker) -> str:
    """A one-partition topic: its records are in one total order, easy to check."""
    name = f"relay.events-{uuid.uuid4().hex[:8]}"
    await ensure_topics(broker.bootstrap, [name], partitions=1)
    return name


@pytest.fixture
def broker_to_restart() -> Iterator[tuple[EmbeddedBroker, EmbeddedBroker]]:
    """A private broker, started, and the one to start on its port once the test stopped it:
    an empty restart, as the embedded broker keeps nothing across one."""
    first = EmbeddedBroker()
    first.start()
    fresh = EmbeddedBroker(port=first.port)
    try:
        yield first, fresh
    finally:
        fresh.stop()
        first.stop()
