"""`productops events tail` against the real embedded broker."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from typing import TypedDict

import pytest
from aiokafka import AIOKafkaProducer

from shared.broker import EmbeddedBroker, ensure_topics

from .helpers import ROOT, project_env

pytestmark = pytest.mark.stack

EVENTS: list[tuple[str, str, dict[str, object]]] = [
    ("catalog.product.created.v1", "prod-1", {"sku": "MUG-1", "name": "Mug"}),
    ("catalog.product.updated.v1", "prod-1", {"completeness": {"score": 80}}),
    ("catalog.product.created.v1", "prod-2", {"sku": "LID-2", "name": "Lid"}),
]


@pytest.fixture
def topic() -> str:
    # The session's broker (tests/conftest.py) is shared: a topic of its own keeps this test's
    # --from-beginning from reading other tests' events.
    return f"stack-tail-{uuid.uuid4().hex[:8]}"


class Envelope(TypedDict):
    specversion: str
    id: str
    source: str
    type: str
    subject: str
    time: str
    datacontenttype: str
    data: dict[str, object]
    correlationid: str
    causationid: None


def envelope(type_: str, subject: str, data: dict[str, object]) -> Envelope:
    event_id = str(uuid.uuid4())
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "/catalog",
        "type": type_,
        "subject": subject,
        "time": "2025-01-02T03:04:05Z",
        "datacontenttype": "application/json",
        "data": data,
        "correlationid": event_id,
        "causationid": None,
    }


async def produce(bootstrap: str, topic: str, values: list[tuple[str, bytes]]) -> None:
    # Tansu refuses InitProducerId, so the idempotent producer cannot be used here.
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        for key, value in values:
            await producer.send_and_wait(topic, value, key=key.encode())
    finally:
        await producer.stop()


async def run_tail(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shared.stack",
        "events",
        "tail",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=project_env(),
        cwd=ROOT,
    )
    try:
        async with asyncio.timeout(60):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return process.returncode or 0, out.decode(), err.decode()


async def test_tail_prints_events_from_the_beginning(broker: EmbeddedBroker, topic: str) -> None:
    await ensure_topics(broker.bootstrap, [topic], partitions=3)
    envelopes = [envelope(*event) for event in EVENTS]
    values = [(e["subject"], json.dumps(e).encode()) for e in envelopes]
    await produce(broker.bootstrap, topic, [*values, ("raw", b"\xffnot json")])

    code, out, err = await run_tail(
        topic, "--from-beginning", "--bootstrap", broker.bootstrap, "--max", "4", "--timeout", "20"
    )

    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 4, out
    for e in envelopes:
        expected = (
            f"2025-01-02T03:04:05Z {e['type']} subject={e['subject']} id={e['id']} "
            + json.dumps(e["data"], separators=(",", ":"))
        )
        assert expected in lines, out
    assert any("not a CloudEvent: b'\\xffnot json'" in line for line in lines), out


async def test_tail_stops_after_a_quiet_timeout(broker: EmbeddedBroker, topic: str) -> None:
    await ensure_topics(broker.bootstrap, [topic], partitions=1)
    await produce(broker.bootstrap, topic, [("old", json.dumps(envelope(*EVENTS[0])).encode())])

    code, out, err = await run_tail(topic, "--bootstrap", broker.bootstrap, "--timeout", "2")

    assert code == 0, err
    assert out == ""  # from the end by default: the event written before it started is skipped
