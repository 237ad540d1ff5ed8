"""Current-state snapshot events, for consumers that must catch up (issue 10).

A consumer deployed after its producers (or whose producers' events the broker no longer
holds) rebuilds its projection from one snapshot event per entity. A service says what it
snapshots with `ServiceSpec.snapshots`; `productops republish SERVICE` (or
`write_snapshots` from code) writes the snapshots through the service's outbox, in chunked
transactions, and the service's relay publishes them like any other event.

A snapshot carries its subject's `sequence` where the service's events do, so the
consumer's position check (`shared.consumer.advance_position`) keeps it harmless: a consumer
that has applied the same or a newer version skips it, so republishing twice changes nothing
and an older snapshot never overwrites a newer event.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, Select

from shared.events import CloudEvent, EncodedEvent
from shared.uow import UnitOfWork

# Events as CloudEvents or already in wire form (a bulk encoder's `EncodedEvent`s).
SnapshotEvents = Callable[
    [UnitOfWork, Sequence[Row[Any]]], Awaitable[Sequence[CloudEvent | EncodedEvent]]
]


@dataclass(frozen=True)
class SnapshotSource:
    """The entities a service republishes, and how one chunk of them becomes events.

    `rows` selects the entities (it may filter; no order or limit), `key` is a unique column
    of them that chunks are paged by (keyset), and `events` turns one chunk's rows into
    their snapshot events inside the chunk's unit of work, where it may read more or number
    the events.
    """

    rows: Select[Any]
    key: ColumnElement[Any]
    events: SnapshotEvents


async def write_snapshots(
    uow_factory: Callable[[], UnitOfWork], source: SnapshotSource, *, chunk_rows: int
) -> int:
    """Write the snapshot events of every entity to the outbox, one transaction per chunk of
    `chunk_rows` entities; the number of events written.

    A chunk's rows are read `FOR UPDATE` (on SQLite the writer lock already excludes other
    writers), so no change to an entity commits between its read and its snapshot: the
    entity's later events follow its snapshot in the outbox.
    """
    written = 0
    after: Any = None
    while True:
        stmt = source.rows if after is None else source.rows.where(source.key > after)
        stmt = stmt.order_by(source.key).limit(chunk_rows).with_for_update()
        async with uow_factory() as uow:
            rows = list((await uow.session.execute(stmt)).all())
            events = await source.events(uow, rows) if rows else []
            uow.publish_many(events)
        written += len(events)
        if len(rows) < chunk_rows:
            return written
        after = rows[-1]._mapping[source.key]
