"""Fixtures every test shares: the real broker, PostgreSQL databases, tokens, app clients."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from shared.broker import EmbeddedBroker
from shared.settings import Settings
from tests.support import (
    PG_ADMIN_DSN,
    REDIS_URL,
    TEST_SECRET,
    PrivatePostgres,
    drop_redis_keys,
    pg_database,
)


def _postgres_available() -> bool:
    async def probe() -> bool:
        try:
            conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
        except (OSError, asyncpg.PostgresError):
            return False
        await conn.close()
        return True

    return asyncio.run(probe())


POSTGRES_UP = _postgres_available()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Taking the session broker, directly or through `make_settings`, starts a process:
    # mark it, so `make check` (`-m "not broker ..."`) never starts one (docs/adding-a-service.md).
    for item in items:
        if "broker" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.broker)
        if "redis_limits" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.redis)
    if POSTGRES_UP:
        return
    if os.environ.get("CI") == "true":
        raise pytest.UsageError(f"CI=true but PostgreSQL does not answer at {PG_ADMIN_DSN}")
    skip = pytest.mark.skip(reason=f"PostgreSQL not reachable at {PG_ADMIN_DSN}")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    """One real Kafka-protocol broker for the session."""
    with EmbeddedBroker() as running:
        yield running


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Each test that takes this runs twice: on a SQLite file and on a fresh PostgreSQL db."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'service.db'}"
        return
    async with pg_database() as url:
        yield url


@pytest.fixture
async def redis_limits() -> AsyncIterator[dict[str, str]]:
    """Settings for rate limits shared in the Redis at `REDIS_URL`, under a key prefix of
    the test's own, whose keys are deleted after it; skipped when Redis does not answer
    (required under CI=true)."""
    client = aioredis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        # redis-py 7 types the asyncio client's ping `Awaitable[bool] | bool` (redis/redis-py#3920).
        await client.ping()  # type: ignore[misc]
    except (OSError, aioredis.RedisError) as exc:
        await client.aclose()
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but Redis does not answer at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    await client.aclose()
    prefix = f"po-test-{uuid.uuid4().hex[:12]}"
    try:
        yield {"redis_url": REDIS_URL, "redis_key_prefix": prefix}
    finally:
        await drop_redis_keys(prefix)


# Nothing listens on port 1 (binding it needs root): a test that takes no broker gets
# "connection refused" at once, and its relay keeps its events in the outbox.
NO_BROKER = "127.0.0.1:1"


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A running PostgreSQL server of the test's own, which the test may stop and restart."""
    reason = PrivatePostgres.unavailable()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    server = PrivatePostgres()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.destroy()


@pytest.fixture
def make_settings(tmp_path: Path, request: pytest.FixtureRequest) -> Callable[..., Settings]:
    """Settings for a test: its own data dir, a fixed JWT secret, and the session broker only
    when the test takes the `broker` fixture (so API tests start no process: `make check`)."""
    bootstrap = NO_BROKER
    if "broker" in request.fixturenames:
        bootstrap = request.getfixturevalue("broker").bootstrap

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path,
            "kafka_bootstrap": bootstrap,
            "jwt_secret": TEST_SECRET,
            "admin_key": "admin-key-" + "k" * 40,
            "relay_poll_s": 0.2,
            "consumer_backoff_s": 0.01,
            "topic_partitions": 3,
            "consumer_session_timeout_ms": 6_000,
            # A test is not a power loss: `normal` still survives the process crashing,
            # and spares the suite an fsync per commit.
            "sqlite_synchronous": "normal",
        }
        values.update(overrides)
        return Settings(**values)

    return make
