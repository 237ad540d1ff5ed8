"""SQLite's `synchronous` level: what `PRODUCTOPS_SQLITE_SYNCHRONOUS` asks for is what every
connection of both engines runs with, `full` unless told, and nothing else is accepted.

`full` is what lets a 201 or 202 mean durable through a power loss (docs/configuration.md
#durability); these tests read the pragma back from SQLite rather than trust the setting.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.app import create_app as create_gateway
from services.pricing.app import create_app as create_pricing
from shared.db import Database, SqliteSynchronous
from shared.settings import Settings
from shared.stack.serve import serve
from tests.support import running

# What `PRAGMA synchronous` answers for each level (https://sqlite.org/pragma.html).
PRAGMA_VALUE: dict[SqliteSynchronous, int] = {"full": 2, "normal": 1}


async def synchronous_levels(engine: AsyncEngine, connections: int) -> list[int]:
    """`PRAGMA synchronous` on `connections` connections of `engine` held open at once, so
    each is a connection of its own, not one handed back and forth by the pool."""
    levels = []
    async with AsyncExitStack() as held:
        for _ in range(connections):
            conn = await held.enter_async_context(engine.connect())
            levels.append((await conn.exec_driver_sql("PRAGMA synchronous")).scalar_one())
    return levels


async def levels_of(db: Database) -> dict[str, list[int]]:
    # The writer engine has a pool of one connection; the reader several.
    return {
        "writer": await synchronous_levels(db.engine, 1),
        "reader": await synchronous_levels(db.read_engine, 3),
    }


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No PRODUCTOPS_* variable from the outer environment leaks into these tests."""
    for name in list(os.environ):
        if name.startswith("PRODUCTOPS_"):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.mark.parametrize("level", ["full", "normal"])
async def test_every_connection_of_both_engines_runs_at_the_level_asked(
    tmp_path: Path, level: SqliteSynchronous
) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'sync.db'}", sqlite_synchronous=level)
    try:
        levels = await levels_of(db)
    finally:
        await db.dispose()

    expected = PRAGMA_VALUE[level]
    assert levels == {"writer": [expected], "reader": [expected] * 3}


async def test_a_database_made_without_a_level_syncs_every_commit(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'default.db'}")
    try:
        assert await levels_of(db) == {"writer": [2], "reader": [2, 2, 2]}
    finally:
        await db.dispose()


@pytest.mark.usefixtures("clean_env")
def test_the_setting_defaults_to_full_and_reads_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Settings(data_dir=tmp_path).sqlite_synchronous == "full"
    monkeypatch.setenv("PRODUCTOPS_SQLITE_SYNCHRONOUS", "normal")
    assert Settings(data_dir=tmp_path).sqlite_synchronous == "normal"
    # SQLite itself reads the level in any case.
    monkeypatch.setenv("PRODUCTOPS_SQLITE_SYNCHRONOUS", " FULL ")
    assert Settings(data_dir=tmp_path).sqlite_synchronous == "full"


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("bad", ["off", "OFF", "extra", "0", "2", "", "fsync"])
def test_a_level_other_than_full_or_normal_stops_a_component_at_startup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    monkeypatch.setenv("PRODUCTOPS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PRODUCTOPS_SQLITE_SYNCHRONOUS", bad)

    # `productops serve` reads its settings first: nothing is built, no database created.
    with pytest.raises(ValidationError) as refused:
        serve("catalog")

    (error,) = refused.value.errors()
    assert error["loc"] == ("sqlite_synchronous",)
    assert "'full' or 'normal'" in error["msg"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("level", ["full", "normal"])
async def test_a_service_and_the_gateway_open_their_sqlite_at_the_setting(
    make_settings: Callable[..., Settings], level: SqliteSynchronous
) -> None:
    settings = make_settings(sqlite_synchronous=level, run_consumers=False, run_relay=False)
    expected = PRAGMA_VALUE[level]

    for app in (create_pricing(settings), create_gateway(settings, services=[])):
        async with running(app) as client:
            # Started: the migration at start has used (and pooled) a writer connection.
            assert (await client.get("/healthz")).status_code == 200
            assert await levels_of(app.state.runtime.db) == {
                "writer": [expected],
                "reader": [expected] * 3,
            }
