"""Kept `Idempotency-Key` responses are forgotten after `PRODUCTOPS_IDEMPOTENCY_RETENTION_S`,
in bounded chunks, by the processes that run background jobs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from shared.db import Database
from shared.idempotency import prune_idempotency_keys
from shared.tables import idempotency_key, metadata
from shared.uow import UnitOfWork
from tests.kernel.sample_service import create_app
from tests.support import eventually, running

DAY = 24 * 3600


def key_row(key: str, created_at: datetime) -> dict:
    return {
        "principal": "storefront-1",
        "key": key,
        "request_hash": "0" * 64,
        "status": 201,
        "body": "{}",
        "created_at": created_at,
    }


async def keys(db: Database) -> set[str]:
    async with db.reader() as session:
        return set((await session.scalars(select(idempotency_key.c.key))).all())


async def store(db: Database, rows: list[dict]) -> None:
    async with db.sessions() as session, session.begin():
        await session.execute(insert(idempotency_key), rows)


async def test_keys_older_than_the_cutoff_are_deleted_in_chunks(database_url: str) -> None:
    db = Database(database_url)
    try:
        await db.create_all([metadata])
        now = datetime.now(UTC)
        old = [f"old-{n}" for n in range(5)]
        await store(
            db,
            [key_row(k, now - timedelta(days=2)) for k in old]
            + [key_row("recent", now - timedelta(hours=1))],
        )

        def uow() -> UnitOfWork:
            return UnitOfWork(db, service="sample", on_commit=lambda: None)

        # Chunks of 2: three rounds (2, 2, 1).
        assert await prune_idempotency_keys(uow, older_than=now - timedelta(days=1), chunk=2) == 5
        assert await keys(db) == {"recent"}
        assert await prune_idempotency_keys(uow, older_than=now - timedelta(days=1)) == 0
    finally:
        await db.dispose()


async def test_a_service_running_its_jobs_forgets_expired_keys(make_settings) -> None:
    settings = make_settings(idempotency_retention_s=DAY)
    db = Database(settings.database_url("sample"))
    try:
        await db.create_all([metadata])
        now = datetime.now(UTC)
        await store(db, [key_row("expired", now - timedelta(days=2)), key_row("kept", now)])
        async with running(create_app(settings)):

            async def expired_gone() -> bool:
                return await keys(db) == {"kept"}

            await eventually(expired_gone)
    finally:
        await db.dispose()


async def test_an_api_only_process_leaves_the_keys_to_the_one_with_jobs(make_settings) -> None:
    settings = make_settings(idempotency_retention_s=DAY, run_jobs=False)
    db = Database(settings.database_url("sample"))
    try:
        await db.create_all([metadata])
        await store(db, [key_row("expired", datetime.now(UTC) - timedelta(days=2))])
        async with running(create_app(settings)) as client:
            # Started and serving: a pruning job would have run at once.
            assert (await client.get("/healthz")).status_code == 200
            await asyncio.sleep(0.5)
            assert await keys(db) == {"expired"}
    finally:
        await db.dispose()
