"""How a process tells that the broker lost what was written to it (`shared/broker_watch.py`),
against the real embedded broker restarted empty."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition

from shared.broker import EmbeddedBroker, ensure_topics
from shared.broker_watch import BrokerWatch
from tests.kernel.test_delivery import unique

pytestmark = pytest.mark.broker


async def _fill(bootstrap: str, topic: str, records: int) -> int:
    """Write `records` to partition 0; its end offset after."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        for n in range(records):
            sent = await producer.send_and_wait(topic, value=b"%d" % n, partition=0)
    finally:
        await producer.stop()
    return sent.offset + 1


async def test_each_start_of_the_embedded_broker_is_a_new_cluster(
    broker_to_restart: tuple[EmbeddedBroker, EmbeddedBroker],
) -> None:
    first, fresh = broker_to_restart
    watch = BrokerWatch(first.bootstrap, timeout_s=5)
    try:
        assert not await watch.cluster_changed()  # the first look learns the id
        assert not await watch.cluster_changed()
        first.stop()
        fresh.start()
        await watch.close()  # as a process does after a look that failed
        assert await watch.cluster_changed()
        assert not await watch.cluster_changed()
    finally:
        await watch.close()


async def test_a_restarted_broker_that_already_holds_more_than_was_written_is_a_loss(
    broker_to_restart: tuple[EmbeddedBroker, EmbeddedBroker],
) -> None:
    """Re-published records can make a partition of the new broker longer than it was on the
    old one, so its end offset alone would pass it: the cluster id tells."""
    first, fresh = broker_to_restart
    topic = unique("watched")
    watch = BrokerWatch(first.bootstrap, timeout_s=5)
    try:
        await ensure_topics(first.bootstrap, [topic], partitions=1)
        watch.wrote(TopicPartition(topic, 0), await _fill(first.bootstrap, topic, 5))
        assert not await watch.lost_data()

        first.stop()
        fresh.start()
        await watch.close()  # as a process does after a look that failed
        await ensure_topics(fresh.bootstrap, [topic], partitions=1)
        assert await _fill(fresh.bootstrap, topic, 10) > 5
        assert await watch.lost_data()
        watch.forget()
        assert not await watch.lost_data()
    finally:
        await watch.close()
