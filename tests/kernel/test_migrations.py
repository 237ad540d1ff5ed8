"""Schema histories, on SQLite and PostgreSQL: a migrated database is exactly the models'
schema, data survives upgrades, and a component refuses a database behind its code."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Column, String, Table, inspect, select, text

from gateway.app import create_app as create_gateway
from services.pricing.app import create_app as create_pricing
from services.pricing.tables import price_list
from shared.db import Database, new_metadata
from shared.migrations import (
    SchemaNotAtHead,
    current_revisions,
    draft_revision,
    schema_drift,
    service_history,
    upgrade,
)
from shared.settings import Settings
from shared.stack.components import GATEWAY, load_history, service_names
from shared.tables import JsonType
from shared.types import UtcDateTime
from tests.support import running

COMPONENTS = [*service_names(), GATEWAY]


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    try:
        yield database
    finally:
        await database.dispose()


def table_names(connection) -> set[str]:  # type: ignore[no-untyped-def]
    return set(inspect(connection).get_table_names())


async def tables(db: Database) -> set[str]:
    async with db.read_engine.connect() as conn:
        return await conn.run_sync(table_names)


@pytest.mark.parametrize("component", COMPONENTS)
async def test_migrating_an_empty_database_gives_exactly_the_models_schema(
    db: Database, component: str
) -> None:
    history = load_history(component)

    done = await upgrade(db, history)

    assert done.applied[0] == "0001_initial"
    assert done.adopted is None
    assert await current_revisions(db, history) == history.heads()
    assert await schema_drift(db, history) == []
    models = {name for metadata in history.metadata for name in metadata.tables}
    # Besides what DDL of the component's own makes (the catalog's FTS5 search on SQLite).
    made = {name for name in await tables(db) if not history.unmanaged(name)}
    assert made == {*models, f"alembic_version_{component}"}


def test_every_component_schema_includes_the_kernel_tables() -> None:
    # The gateway too, since it publishes API key revocations through an outbox (issue 12).
    for component in [*service_names(), GATEWAY]:
        history = load_history(component)
        models = {name for metadata in history.metadata for name in metadata.tables}
        assert {"outbox", "inbox", "subject_position", "idempotency_key"} <= models
        assert "revoked_api_key" in models


async def test_upgrading_again_applies_nothing(db: Database) -> None:
    history = load_history("pricing")
    await upgrade(db, history)

    again = await upgrade(db, history)

    assert again.applied == ()
    assert await current_revisions(db, history) == history.heads()


async def test_each_component_keeps_its_own_version_table(db: Database) -> None:
    # Two histories in one database do not read each other's revision.
    await upgrade(db, load_history(GATEWAY))

    assert await current_revisions(db, load_history("feedback")) == frozenset()
    assert "alembic_version_gateway" in await tables(db)


async def test_a_database_made_before_migrations_is_taken_at_the_first_revision(
    db: Database,
) -> None:
    history = load_history("pricing")
    # What `create_all` made before migrations: the first revision's tables, no version.
    await upgrade(db, history, "0001_initial")
    async with db.engine.begin() as conn:
        await conn.execute(text(f"DROP TABLE {history.version_table}"))
        await conn.execute(
            price_list.insert().values(
                code="eu-web",
                currency="EUR",
                channel="web",
                version=1,
                created_by="key-pm",
                created_at=datetime(2030, 1, 1, tzinfo=UTC),
                updated_at=datetime(2030, 1, 1, tzinfo=UTC),
            )
        )

    done = await upgrade(db, history)

    assert done.adopted == "0001_initial"
    # Every later revision is applied, in order, up to the head.
    assert done.applied[0] == "0002_price_proposer_owner"
    assert frozenset(done.applied[-1:]) == history.heads()
    assert await schema_drift(db, history) == []
    async with db.reader() as session:
        assert (await session.execute(select(price_list.c.code))).scalars().all() == ["eu-web"]


async def test_with_migration_at_start_off_a_service_behind_refuses_to_start(
    make_settings: Callable[..., Settings], db: Database
) -> None:
    settings = make_settings(
        pricing_database_url=db.url, migrate_on_start=False, run_consumers=False
    )
    await upgrade(db, load_history("pricing"), "0001_initial")

    with pytest.raises(SchemaNotAtHead) as refused:
        async with running(create_pricing(settings)):
            pass

    message = str(refused.value)
    assert "the pricing database is at revision 0001_initial" in message
    (head,) = load_history("pricing").heads()
    assert f"needs {head}" in message
    assert "run `productops migrate pricing`" in message
    assert "PRODUCTOPS_MIGRATE_ON_START=true" in message
    await upgrade(db, load_history("pricing"))
    async with running(create_pricing(settings)) as client:
        assert (await client.get("/healthz")).status_code == 200


async def test_with_migration_at_start_off_an_empty_gateway_database_is_refused(
    make_settings: Callable[..., Settings], db: Database
) -> None:
    settings = make_settings(gateway_database_url=db.url, migrate_on_start=False)

    with pytest.raises(SchemaNotAtHead, match=r"gateway database is at revision \(none\)"):
        async with running(create_gateway(settings, services=[])):
            pass

    assert await tables(db) == set()


async def test_a_new_component_drafts_its_first_revision_in_a_few_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db: Database
) -> None:
    # A service package with an empty `migrations` package, as `launch` will have; named
    # afresh each time, since Python keeps the packages it imported.
    name = f"launch_{uuid.uuid4().hex[:8]}"
    migrations = tmp_path / name / "migrations"
    migrations.mkdir(parents=True)
    (migrations.parent / "__init__.py").write_text("")
    (migrations / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    metadata = new_metadata()
    Table(
        "launch_plan",
        metadata,
        Column("id", String(36), primary_key=True),
        Column("goals", JsonType, nullable=False),
        Column("target_at", UtcDateTime, nullable=False),
    )
    history = service_history(name, f"{name}.migrations", metadata)

    path = await draft_revision(history, message="Initial schema")

    assert path == migrations / "0001_initial_schema.py"
    done = await upgrade(db, history)
    assert done.applied == ("0001_initial_schema",)
    assert await schema_drift(db, history) == []
    assert {"launch_plan", "outbox", f"alembic_version_{name}"} <= await tables(db)


async def test_services_migrate_at_start_by_default(
    make_settings: Callable[..., Settings], db: Database
) -> None:
    settings = make_settings(pricing_database_url=db.url, run_consumers=False)

    async with running(create_pricing(settings)) as client:
        assert (await client.get("/healthz")).status_code == 200

    assert await current_revisions(db, load_history("pricing")) == load_history("pricing").heads()


@pytest.mark.parametrize("component", [*service_names(), GATEWAY])
def test_every_component_history_is_one_line(component: str) -> None:
    # Two revisions on one parent (branches merged in parallel) would leave a database
    # migrated to only one of them; `productops revision` numbers from the one head.
    assert len(load_history(component).heads()) == 1
