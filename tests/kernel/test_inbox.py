"""Inbox pruning: rows older than the retention go, in bounded chunks; the retention can
never be shorter than the outbox's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import insert, select

from shared.db import Database
from shared.inbox import prune_inbox
from shared.settings import Settings
from shared.tables import inbox, metadata
from shared.uow import UnitOfWork
from tests.kernel.sample_service import create_app
from tests.support import eventually, running

DAY = 24 * 3600


def inbox_row(event_id: str, processed_at: datetime) -> dict:
    return {
        "consumer": "sample",
        "event_id": event_id,
        "type": "sample.note.created.v1",
        "topic": "sample.events",
        "partition": 0,
        "offset": 0,
        "processed_at": processed_at,
    }


async def inbox_ids(db: Database) -> set[str]:
    async with db.reader() as session:
        return set((await session.scalars(select(inbox.c.event_id))).all())


async def test_prune_deletes_only_rows_older_than_the_cutoff(database_url: str) -> None:
    db = Database(database_url)
    try:
        await db.create_all([metadata])
        now = datetime.now(UTC)
        old = [f"old-{n}" for n in range(7)]
        recent = [f"recent-{n}" for n in range(3)]
        async with db.sessions() as session, session.begin():
            await session.execute(
                insert(inbox),
                [inbox_row(i, now - timedelta(days=10)) for i in old]
                + [inbox_row(i, now - timedelta(hours=1)) for i in recent],
            )

        def uow() -> UnitOfWork:
            return UnitOfWork(db, service="sample", on_commit=lambda: None)

        # Chunks of 3: three rounds (3, 3, 1) delete the seven old rows.
        pruned = await prune_inbox(uow, older_than=now - timedelta(days=7), chunk=3)
        assert pruned == len(old)
        assert await inbox_ids(db) == set(recent)
        assert await prune_inbox(uow, older_than=now - timedelta(days=7), chunk=3) == 0
    finally:
        await db.dispose()


def test_inbox_retention_must_cover_the_outbox_retention(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"inbox_retention_s .* must be at least"):
        Settings(data_dir=tmp_path, outbox_retention_s=7 * DAY, inbox_retention_s=6 * DAY)
    same = Settings(data_dir=tmp_path, outbox_retention_s=3 * DAY, inbox_retention_s=3 * DAY)
    assert same.inbox_retention_s == same.outbox_retention_s
    defaults = Settings(data_dir=tmp_path)
    assert defaults.inbox_retention_s >= defaults.outbox_retention_s


def test_inbox_retention_is_read_from_the_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PRODUCTOPS_INBOX_RETENTION_S", "1")
    with pytest.raises(ValidationError, match="must be at least"):
        Settings(data_dir=tmp_path)
    monkeypatch.setenv("PRODUCTOPS_OUTBOX_RETENTION_S", "1")
    assert Settings(data_dir=tmp_path).inbox_retention_s == 1


async def test_a_service_with_a_consumer_prunes_its_inbox(make_settings, tmp_path: Path) -> None:
    settings = make_settings(outbox_retention_s=DAY, inbox_retention_s=DAY)
    db = Database(settings.database_url("sample"))
    try:
        await db.create_all([metadata])
        now = datetime.now(UTC)
        async with db.sessions() as session, session.begin():
            await session.execute(
                insert(inbox),
                [inbox_row("expired", now - timedelta(days=2)), inbox_row("kept", now)],
            )
        app = create_app(settings)
        async with running(app):

            async def expired_gone() -> bool:
                return await inbox_ids(db) == {"kept"}

            await eventually(expired_gone)
    finally:
        await db.dispose()
