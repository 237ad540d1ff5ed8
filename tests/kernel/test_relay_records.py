"""The relay's record building shortcuts (issue 16) give what the long way gives. Pure."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from shared.relay import _headers, _never_sendable, _partition, _Record


def test_a_key_goes_to_the_partition_aiokafka_picks() -> None:
    # Consumers and other producers of a topic rely on the producer's partitioner: a
    # remembered hash must not move a key.
    keys = [str(uuid.uuid4()).encode() for _ in range(500)] + [b"", b"a", "é".encode()]
    for count in (1, 3, 6, 12):
        partitions = list(range(count))
        for key in keys:
            assert _partition(key, partitions) == DefaultPartitioner()(key, partitions, partitions)
        # Twice: the second answer comes from the remembered hash.
        assert [_partition(k, partitions) for k in keys] == [
            DefaultPartitioner()(k, partitions, partitions) for k in keys
        ]


def test_a_record_without_a_key_goes_to_one_of_the_partitions() -> None:
    assert {_partition(None, [0, 1, 2]) for _ in range(50)} <= {0, 1, 2}


def test_stored_headers_become_kafka_headers() -> None:
    text = '{"content-type": "application/cloudevents+json", "traceparent": "00-ab-cd-01"}'
    assert _headers(text) == (
        ("content-type", b"application/cloudevents+json"),
        ("traceparent", b"00-ab-cd-01"),
    )
    record = _Record.of(SimpleNamespace(key="k", payload="{}", headers=text, topic="t"))
    # aiokafka's builder takes only a list, and each record gets one of its own.
    assert isinstance(record.headers, list)
    assert record.headers == list(_headers(text))
    assert record.headers is not _Record.of(record.row).headers


def test_the_quick_size_check_agrees_with_the_exact_estimate() -> None:
    headers = '{"content-type": "application/cloudevents+json"}'
    limit = 10_000
    for size in (0, 100, 8_000, 8_900, 9_000, 9_900, 9_950, 10_000, 20_000):
        row = SimpleNamespace(key="key-1", payload="x" * size, headers=headers, topic="t")
        record = _Record.of(row)
        exact = DefaultRecordBatchBuilder.estimate_size_in_bytes(
            record.key, record.value, record.headers
        )
        assert (_never_sendable(record, limit) is None) == (exact <= limit), size


def test_an_illegal_topic_is_never_sendable() -> None:
    row = SimpleNamespace(key=None, payload="{}", headers="{}", topic="no spaces allowed")
    assert _never_sendable(_Record.of(row), 10_000) == (
        "InvalidTopicError: 'no spaces allowed' is not a legal topic name"
    )
