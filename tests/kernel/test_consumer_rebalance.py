"""A rebalance in the middle of a batch: the old owner commits only what it still owns.

The consumer runs its real commit path (`_consume`, `_commit`) against a fake of the part of
AIOKafkaConsumer it uses, which keeps aiokafka's contract: a commit for a partition not
assigned raises `IllegalStateError` (aiokafka 0.14, `AIOKafkaConsumer.commit`). A rebalance
moves the assignment in aiokafka's background coordinator task, so it can land between two
events of one batch; the fake's `revoke` does just that, from inside a handler.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import pytest
from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import IllegalStateError

from shared.consumer import EventConsumer
from shared.db import Database
from shared.events import CloudEvent, encode, new_event
from shared.settings import Settings
from shared.tables import metadata
from shared.uow import UnitOfWork

NOTE = "sample.note.created.v1"
KEPT = TopicPartition("sample.events", 0)
MOVED = TopicPartition("sample.events", 1)


class FakeKafkaConsumer:
    """Assignment and commits as AIOKafkaConsumer keeps them; the group's committed offsets
    are what a new owner would start from."""

    def __init__(self, assigned: set[TopicPartition]) -> None:
        self._assigned = set(assigned)
        self.committed: dict[TopicPartition, int] = {}

    def assignment(self) -> frozenset[TopicPartition]:
        return frozenset(self._assigned)

    def revoke(self, tp: TopicPartition) -> None:
        """The group rebalanced: `tp` now belongs to another member."""
        self._assigned.discard(tp)

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        for tp in offsets:
            if tp not in self._assigned:
                raise IllegalStateError(f"Partition {tp} is not assigned")
        self.committed.update(offsets)


class RevokingHandler:
    """Applies notes; while applying the one numbered `revoke_at`, the group rebalances."""

    def __init__(self, kafka: FakeKafkaConsumer, *, revoke_at: int) -> None:
        self._kafka = kafka
        self._revoke_at = revoke_at
        self.applied: list[int] = []

    async def __call__(self, event: CloudEvent, uow: UnitOfWork) -> None:
        self.applied.append(event.data["n"])
        if event.data["n"] == self._revoke_at:
            self._kafka.revoke(MOVED)


def records(tp: TopicPartition, count: int) -> list[ConsumerRecord]:
    events = [
        new_event(source="/sample", type=NOTE, subject=f"note-{tp.partition}", data={"n": n})
        for n in range(count)
    ]
    return [
        ConsumerRecord(tp.topic, tp.partition, n, 0, 0, None, encode(e), None, 0, 0, ())
        for n, e in enumerate(events)
    ]


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'consumer.db'}")
    await database.create_all([metadata])
    try:
        yield database
    finally:
        await database.dispose()


async def test_a_partition_rebalanced_away_mid_batch_is_not_committed_by_its_old_owner(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    kafka = FakeKafkaConsumer({KEPT, MOVED})
    handler = RevokingHandler(kafka, revoke_at=1)
    consumer = EventConsumer(
        group="sample",
        topics=[KEPT.topic],
        handlers={NOTE: handler},
        uow_factory=lambda: UnitOfWork(db, service="sample", on_commit=lambda: None),
        settings=Settings(data_dir=tmp_path, kafka_bootstrap="127.0.0.1:1"),
    )
    consumer._consumer = kafka  # the client `_start` would have made
    budget_ends = time.monotonic() + 3600  # no batch here runs out of poll budget

    with caplog.at_level(logging.WARNING, logger="shared.consumer"):
        await consumer._consume(KEPT, records(KEPT, 3), budget_ends)
        await consumer._consume(MOVED, records(MOVED, 3), budget_ends)

    # What the old owner applied, the new owner redoes from the last commit; the inbox
    # absorbs that. The group's offset for the moved partition is the new owner's to move.
    assert handler.applied == [0, 1, 2, 0, 1, 2]
    assert kafka.committed == {KEPT: 3}
    # Losing a partition is a rebalance doing its job, not a failed commit.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
