"""Helpers for tests: tokens, in-process app clients, problem+json checks, PostgreSQL dbs."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import asyncpg
import httpx
from fastapi import FastAPI

from shared.auth import SCOPES, TokenSigner

TEST_SECRET = "test-secret-" + "x" * 40
PG_ADMIN_DSN = os.environ.get("PRODUCTOPS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
ALL_SCOPES = frozenset(SCOPES)


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


async def eventually(check: Callable[[], Awaitable[bool]], *, timeout_s: float = 30) -> None:
    """Wait, in a bounded loop, until `check` holds."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"condition not met within {timeout_s}s")


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
