"""Helpers for tests: tokens, in-process app clients, problem+json checks, PostgreSQL dbs."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from shared.auth import SCOPES, TokenSigner
from shared.broker import free_port
from shared.uow import UnitOfWork

TEST_SECRET = "test-secret-" + "x" * 40
PG_ADMIN_DSN = os.environ.get("PRODUCTOPS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
ALL_SCOPES = frozenset(SCOPES)
REDIS_URL = os.environ.get("PRODUCTOPS_TEST_REDIS", "redis://127.0.0.1:6379/0")


async def create_pg_database() -> str:
    """A fresh, empty PostgreSQL database; returns its SQLAlchemy URL."""
    name = f"po_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


async def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@asynccontextmanager
async def pg_database() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for the block, dropped after it."""
    url = await create_pg_database()
    try:
        yield url
    finally:
        await drop_pg_database(url)


async def drop_redis_keys(prefix: str) -> int:
    """Delete every key under `prefix` in the test Redis; returns how many there were."""
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        return len(keys)
    finally:
        await client.aclose()


class PrivatePostgres:
    """A PostgreSQL server of the test's own, to stop and restart at will.

    A fault test must never stop the shared instance on 5432: this one runs from a temporary
    cluster (as the `postgres` user, which needs root to switch to) on a free loopback port.
    """

    BIN = Path(os.environ.get("PRODUCTOPS_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="po-pg-"))
        self.data = self.root / "data"

    @classmethod
    def unavailable(cls) -> str | None:
        """Why a private server cannot run here, or None when it can."""
        if os.geteuid() != 0:
            return "a private PostgreSQL needs root (to run as the postgres user)"
        if not (cls.BIN / "pg_ctl").exists() or shutil.which("runuser") is None:
            return f"no PostgreSQL binaries in {cls.BIN} or no runuser"
        return None

    def init(self) -> None:
        shutil.chown(self.root, "postgres", "postgres")
        self._as_postgres("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres")

    def start(self) -> None:
        """Start and wait until it accepts connections (`pg_ctl -w`)."""
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.root / "server.log")
        self._as_postgres("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server; `immediate` drops every connection at once, like a crash."""
        self._as_postgres("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    async def create_database(self, name: str | None = None) -> str:
        """A new empty database on this server (named, or given a fresh name); returns its
        SQLAlchemy URL."""
        name = name or f"po_test_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres")
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.url(name)

    def destroy(self) -> None:
        if self.running():
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _as_postgres(self, program: str, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(self.BIN / program), *args],
            check=True,
            capture_output=True,
            timeout=60,
        )


async def eventually(check: Callable[[], Awaitable[bool]], *, timeout_s: float = 30) -> None:
    """Wait, in a bounded loop, until `check` holds."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"condition not met within {timeout_s}s")


async def consumed(client: httpx.AsyncClient, *, group: str, topic: str, outcome: str) -> float:
    """How many events consumer `group` has taken from `topic` with `outcome` (`handled`,
    `duplicate`, `stale`, ...), as the app's /metrics says. The registry is the process's:
    compare a count before and after, not with zero."""
    text = (await client.get("/metrics")).text
    wanted = {"service": group, "topic": topic, "outcome": outcome}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "productops_events_consumed_total" and sample.labels == wanted:
                return sample.value
    return 0.0


def token(
    scopes: str | frozenset[str],
    subject: str = "key-test",
    name: str = "tester",
    owner: str | None = None,
) -> str:
    """A valid access token with the given scopes (space-separated or a set). Unless told
    otherwise, each key (`subject`) has an owner of its own: two keys are two people."""
    wanted = frozenset(scopes.split()) if isinstance(scopes, str) else scopes
    return TokenSigner(TEST_SECRET).issue(
        subject=subject, name=name, owner=owner or subject, scopes=wanted
    )


def auth(
    scopes: str | frozenset[str], subject: str = "key-test", owner: str | None = None
) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(scopes, subject, owner=owner)}"}


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan started, and an httpx client talking to it in-process."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


def assert_problem(response: httpx.Response, status: int, *, detail_has: str = "") -> dict:
    """The response is an RFC 9457 problem with this status; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["type"]
    assert isinstance(body["detail"], str)
    assert detail_has in body["detail"], body["detail"]
    return body


async def caught_up(bootstrap: str, group: str, topics: list[str]) -> bool:
    """True when `group` has committed, on every partition of `topics`, the end offset: it
    has handled everything written so far."""
    # A consumer of the group that never subscribes never joins it: it only reads the
    # group's committed offsets, and the members keep their partitions.
    offsets = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await offsets.start()
    try:
        ends = await offsets.end_offsets(await topic_partitions(offsets, topics))
        for tp, end in ends.items():
            if end and (await offsets.committed(tp) or 0) < end:
                return False
        return True
    finally:
        await offsets.stop()


async def topic_partitions(consumer: AIOKafkaConsumer, topics: list[str]) -> list[TopicPartition]:
    """Every partition of `topics`, from fresh metadata."""
    await consumer.topics()  # fresh metadata: partitions_for_topic reads the cached one
    return [
        TopicPartition(topic, partition)
        for topic in topics
        for partition in sorted(consumer.partitions_for_topic(topic) or ())
    ]


class CountedTransactions:
    """The runtime's units of work, counted."""

    def __init__(self, app: FastAPI) -> None:
        self.runtime = app.state.runtime
        self.opened = 0

    def __call__(self) -> UnitOfWork:
        self.opened += 1
        uow: UnitOfWork = self.runtime.uow()
        return uow
