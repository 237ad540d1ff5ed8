"""Snapshots for catch-up (`shared/republish.py`): written in keyset chunks through the
outbox, and harmless to consumers, whose position check takes an equal `sequence` as already
applied; a late consumer rebuilds its projection from them on the real broker."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Row, select

from shared.app import ServiceSpec, create_service_app
from shared.db import Database
from shared.events import CloudEvent, decode, encode, new_event
from shared.inbox import advance_position
from shared.republish import SnapshotSource, write_snapshots
from shared.settings import Settings
from shared.tables import inbox, outbox, subject_position
from shared.tables import metadata as kernel_metadata
from shared.uow import UnitOfWork
from tests.kernel.sample_service import (
    NOTE_SNAPSHOT,
    count_note,
    create_app,
    metadata,
    note,
    note_snapshots,
    seen,
)
from tests.kernel.test_delivery import produce, unique
from tests.support import auth, eventually, running

WRITE = auth("catalog:write")


async def add_notes(client: Any, count: int, prefix: str = "note") -> list[str]:
    ids = [f"{prefix}-{n}-{unique('x')}" for n in range(count)]
    for note_id in ids:
        response = await client.post(
            "/v1/notes", json={"id": note_id, "text": note_id}, headers=WRITE
        )
        assert response.status_code == 201, response.text
    return ids


async def snapshots_in_outbox(app: FastAPI) -> list[tuple[str, CloudEvent]]:
    """The snapshot rows' keys and events, in outbox order."""
    async with app.state.runtime.db.reader() as session:
        rows = (
            await session.execute(
                select(outbox.c.key, outbox.c.payload)
                .where(outbox.c.type == NOTE_SNAPSHOT)
                .order_by(outbox.c.seq)
            )
        ).all()
    return [(row.key, decode(row.payload)) for row in rows]


@pytest.mark.parametrize("count", [0, 4, 5])
async def test_snapshots_are_written_in_keyset_chunks(
    make_settings: Any, database_url: str, count: int
) -> None:
    app = create_app(make_settings(database_urls={"sample": database_url}), handlers={})
    chunks: list[list[str]] = []

    async def recording(uow: UnitOfWork, rows: Sequence[Row[Any]]) -> list[CloudEvent]:
        chunks.append([row.id for row in rows])
        return await note_snapshots(uow, rows)

    # A filter of the source's own: notes whose text says "skip" are left out.
    source = SnapshotSource(
        rows=select(note).where(note.c.text.not_like("skip%")), key=note.c.id, events=recording
    )
    async with running(app) as client:
        ids = sorted(await add_notes(client, count))
        await add_notes(client, 2, prefix="skip")
        written = await write_snapshots(app.state.runtime.uow, source, chunk_rows=2)

    assert written == count
    assert chunks == [ids[i : i + 2] for i in range(0, count, 2)]
    events = await snapshots_in_outbox(app)
    assert [(key, e.subject, e.sequence, e.data) for key, e in events] == [
        (note_id, note_id, "1", {"text": note_id}) for note_id in ids
    ]


async def test_an_equal_or_older_sequence_counts_as_already_applied(database_url: str) -> None:
    db = Database(database_url)
    await db.create_all([kernel_metadata])
    try:
        outcomes = []
        for subject, sequence in [("a", None), ("a", 2), ("a", 2), ("a", 1), ("a", 3), ("b", 1)]:
            event = new_event(source="/s", type="t.v1", subject=subject, data={}, sequence=sequence)
            async with UnitOfWork(db, service="s", on_commit=lambda: None) as uow:
                outcomes.append(await advance_position(uow, consumer="c", event=event))
        assert outcomes == [True, True, False, False, True, True]
        async with db.reader() as session:
            rows = await session.execute(select(subject_position))
            positions = {row.subject: row.sequence for row in rows}
        assert positions == {"a": 3, "b": 1}
    finally:
        await db.dispose()


def late_consumer(settings: Settings, group: str) -> FastAPI:
    """A service that joins after the notes were made and knows them only from snapshots:
    `seen` is its projection (how often each note was applied, and its text)."""
    spec = ServiceSpec(
        name=group,
        title="Late consumer",
        metadata=metadata,
        routers=[],
        handlers={NOTE_SNAPSHOT: count_note},
        consumes=["sample.events"],
    )
    return create_service_app(spec, settings)


async def test_a_late_consumer_rebuilds_from_snapshots_and_republishing_is_harmless(
    make_settings: Any, broker: Any
) -> None:
    producer = create_app(make_settings(), handlers={})
    runtime = producer.state.runtime
    group = unique("late")
    consumer = late_consumer(make_settings(), group)

    async def republish() -> list[str]:
        """Snapshot every note again; the new events' ids, once the relay has sent them."""
        before = len(await snapshots_in_outbox(producer))
        await write_snapshots(runtime.uow, runtime.spec.snapshots, chunk_rows=2)
        await eventually(lambda: _backlog_is(producer, 0))
        return [e.id for _, e in (await snapshots_in_outbox(producer))[before:]]

    async def handled(event_ids: list[str]) -> bool:
        async with consumer.state.runtime.db.reader() as session:
            found = await session.scalars(
                select(inbox.c.event_id).where(
                    inbox.c.consumer == group, inbox.c.event_id.in_(event_ids)
                )
            )
            return len(found.all()) == len(event_ids)

    async def projection(ids: list[str]) -> dict[str, tuple[int, str]]:
        async with consumer.state.runtime.db.reader() as session:
            rows = await session.execute(select(seen).where(seen.c.subject.in_(ids)))
            return {row.subject: (row.count, row.last_text) for row in rows}

    async with running(producer) as client:
        ids = await add_notes(client, 3)
        first = await republish()
        async with running(consumer):
            await eventually(lambda: handled(first))
            assert await projection(ids) == {i: (1, i) for i in ids}, "rebuilt from snapshots"

            # Again: new event ids, the same sequences; the inbox takes them, nothing changes.
            second = await republish()
            assert not set(first) & set(second)
            await eventually(lambda: handled(second))
            assert await projection(ids) == {i: (1, i) for i in ids}

            # A newer event about one note, then the (older) snapshots once more: no regression.
            newer = new_event(
                source="/sample",
                type=NOTE_SNAPSHOT,
                subject=ids[0],
                data={"text": "v5"},
                sequence=5,
            )
            await produce(broker.bootstrap, "sample.events", [(ids[0].encode(), encode(newer))])
            await eventually(lambda: handled([newer.id]))
            third = await republish()
            await eventually(lambda: handled(third))
            assert await projection(ids) == {
                ids[0]: (2, "v5"),
                **{i: (1, i) for i in ids[1:]},
            }
            assert consumer.state.runtime.consumer.handled == 4


async def _backlog_is(app: FastAPI, expected: int) -> bool:
    return await app.state.runtime.relay.backlog() == expected
