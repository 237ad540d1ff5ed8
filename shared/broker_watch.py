"""Notices a broker that lost what was written to it: a new, empty incarnation.

The embedded broker keeps everything in memory, so a restart comes back without topics,
records or group offsets (KAFKA-NOTES.md). That the topics are missing cannot be relied on:
Tansu, like Kafka with `auto.create.topics.enable`, re-creates a topic on the first metadata
request naming it, which any consumer sends at once. Two signs hold for any Kafka: the
cluster id changed, or a partition's end offset is below what was already written to it
(within one log, end offsets never go back).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


class BrokerWatch:
    """Remembers what one process wrote where, and tells when the broker no longer has it."""

    def __init__(
        self, bootstrap: str, *, timeout_s: float, security: Mapping[str, Any] | None = None
    ) -> None:
        self._bootstrap = bootstrap
        self._security = dict(security or {})
        self._request_timeout_ms = int(timeout_s * 1000)
        self._admin: AIOKafkaAdminClient | None = None
        self._offsets: AIOKafkaConsumer | None = None
        self._cluster_id: str | None = None
        self._written: dict[TopicPartition, int] = {}

    def wrote(self, partition: TopicPartition, end_offset: int) -> None:
        """The partition holds at least `end_offset` records now."""
        self._written[partition] = max(self._written.get(partition, 0), end_offset)

    async def lost_data(self, *, must_hold: Iterable[str] = ()) -> bool:
        """True when the broker lost records: its cluster id changed, a partition written to
        is missing or shorter than written, or a topic of `must_hold` is missing or empty
        (what a process that remembers nothing yet can check)."""
        if await self.cluster_changed():
            return True
        admin = await self._admin_client()
        # Listing every topic, not naming ours, so that the check itself creates none.
        layout = {
            topic["topic"]: {part["partition"] for part in topic["partitions"]}
            for topic in await admin.describe_topics()
            if topic["error_code"] == 0
        }
        held = set(must_hold)
        if any(topic not in layout for topic in held) or any(
            tp.partition not in layout.get(tp.topic, ()) for tp in self._written
        ):
            return True
        wanted = set(self._written) | {
            TopicPartition(topic, part) for topic in held for part in layout[topic]
        }
        if not wanted:
            return False
        ends: dict[TopicPartition, int] = await (await self._offsets_client()).end_offsets(
            list(wanted)
        )
        if any(ends[tp] < written for tp, written in self._written.items()):
            return True
        if any(sum(ends[TopicPartition(topic, p)] for p in layout[topic]) == 0 for topic in held):
            return True
        for tp, end in ends.items():
            self.wrote(tp, end)  # what is there now is the floor from here on
        return False

    async def cluster_changed(self) -> bool:
        """True when the broker's cluster id is not the one it had at the last look (the
        first look only learns it)."""
        admin = await self._admin_client()
        cluster_id = (await admin.describe_cluster()).get("cluster_id")
        changed = self._cluster_id is not None and cluster_id != self._cluster_id
        self._cluster_id = cluster_id
        return changed

    def forget(self) -> None:
        """Start over from what the broker holds now (after re-publishing to it)."""
        self._written.clear()

    async def close(self) -> None:
        """Close the connections; what was learned is kept for the next check."""
        admin, self._admin = self._admin, None
        offsets, self._offsets = self._offsets, None
        with contextlib.suppress(Exception):
            if admin is not None:
                await admin.close()
        with contextlib.suppress(Exception):
            if offsets is not None:
                await offsets.stop()

    async def _admin_client(self) -> AIOKafkaAdminClient:
        if self._admin is None:
            admin = AIOKafkaAdminClient(
                bootstrap_servers=self._bootstrap,
                request_timeout_ms=self._request_timeout_ms,
                **self._security,
            )
            try:
                await admin.start()
            except BaseException:
                with contextlib.suppress(Exception):
                    await admin.close()
                raise
            self._admin = admin
        return self._admin

    async def _offsets_client(self) -> AIOKafkaConsumer:
        # A consumer in no group, subscribed to nothing: it only asks for end offsets.
        if self._offsets is None:
            offsets = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap,
                enable_auto_commit=False,
                request_timeout_ms=self._request_timeout_ms,
                **self._security,
            )
            try:
                await offsets.start()
            except BaseException:
                with contextlib.suppress(Exception):
                    await offsets.stop()
                raise
            self._offsets = offsets
        return self._offsets
