"""`productops republish NAME`: one snapshot event per entity of a service, for consumers that
catch up (issue 10; docs/delivery.md#catching-up)."""

from __future__ import annotations

import asyncio
import sys
import uuid

from sqlalchemy.exc import SQLAlchemyError

from shared.app import Runtime
from shared.migrations import SchemaNotAtHead, prepare_schema
from shared.observability import correlation_id_var
from shared.republish import SnapshotSource, write_snapshots
from shared.settings import Settings
from shared.stack.components import load_factory, service_names
from shared.tables import metadata as kernel_metadata


def load_runtime(settings: Settings, name: str) -> Runtime:
    """A registered service's runtime, built from its app factory and not started."""
    if name not in service_names():
        raise LookupError(f"unknown service {name!r} (known: {', '.join(service_names())})")
    runtime: Runtime = load_factory(name)(settings).state.runtime
    return runtime


def snapshot_source(runtime: Runtime) -> SnapshotSource:
    source = runtime.spec.snapshots
    if source is None:
        raise LookupError(f"{runtime.spec.name} publishes no snapshots (ServiceSpec.snapshots)")
    return source


async def republish(settings: Settings, name: str) -> int:
    """Write a snapshot event per entity of service `name` to its outbox; how many.

    The schema is brought up first as the service's own start would (the command may run
    before the service ever started); the service's relay publishes the events.
    """
    runtime = load_runtime(settings, name)
    source = snapshot_source(runtime)
    # One correlation id for the whole run: every snapshot of it is traceable together.
    token = correlation_id_var.set(f"republish-{uuid.uuid4()}")
    try:
        migrations = runtime.spec.migrations
        if migrations is None:
            await runtime.db.create_all([kernel_metadata, runtime.spec.metadata])
        else:
            await prepare_schema(runtime.db, migrations, migrate=settings.migrate_on_start)
        return await write_snapshots(runtime.uow, source, chunk_rows=settings.outbox_chunk_rows)
    finally:
        correlation_id_var.reset(token)
        await runtime.db.dispose()


def run(settings: Settings, name: str) -> int:
    """The command: print how many snapshots were written; the exit code (2 for a name that
    is not a service with snapshots, 1 when the database fails)."""
    try:
        count = asyncio.run(republish(settings, name))
    except LookupError as exc:
        print(f"productops: {exc}", file=sys.stderr)
        return 2
    except (SQLAlchemyError, OSError, SchemaNotAtHead) as exc:
        print(f"productops: {name}: republish failed: {exc}", file=sys.stderr)
        return 1
    print(f"{name}: wrote {count} snapshot events to its outbox; its relay publishes them")
    return 0
