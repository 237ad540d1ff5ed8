"""Launch's schema history on SQLite and PostgreSQL: migrating an empty database gives
exactly the models' schema, and the app starts on it."""

from __future__ import annotations

from collections.abc import Callable

from services.launch.migrations import history
from shared.db import Database
from shared.migrations import current_revisions, schema_drift, upgrade
from shared.settings import Settings
from tests.launch.conftest import READER, FakeClock, new_app
from tests.support import running


async def test_the_history_gives_the_models_schema(database_url: str) -> None:
    db = Database(database_url)
    try:
        done = await upgrade(db, history)
        assert done.applied == ("0001_initial", "0002_revoked_api_keys")
        assert await current_revisions(db, history) == history.heads()
        assert await schema_drift(db, history) == []
    finally:
        await db.dispose()


async def test_the_app_migrates_at_start(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    settings = make_settings(launch_database_url=database_url, run_consumers=False)
    async with running(new_app(settings, FakeClock())) as client:
        resp = await client.get("/v1/launches", headers=READER)
        assert resp.json() == {"items": [], "next_cursor": None}
    db = Database(database_url)
    try:
        assert await current_revisions(db, history) == history.heads()
    finally:
        await db.dispose()
