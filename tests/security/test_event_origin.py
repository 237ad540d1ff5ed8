"""Finding 11 of issue 12: a consumer takes each event type only from its owner's topic and
CloudEvents `source`.

On the real broker: a forged catalog event that would discontinue a product (and so withdraw
its open proposal in pricing), written to a topic the catalog does not own or with a source
that is not the catalog's, changes nothing and is dead-lettered at once, without retries,
with the reason in its headers. The same event from the catalog's topic and source applies.
Every Kafka client takes the TLS and SASL settings a production cluster needs.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import certifi
import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI
from pydantic import SecretStr, ValidationError

from services.pricing.app import create_app
from shared.broker import EmbeddedBroker, ensure_topics, kafka_security
from shared.events import CloudEvent
from shared.relay import new_producer
from shared.settings import Settings
from tests.pricing.conftest import (
    READ,
    FakeClock,
    add_product,
    lifecycle_changed,
    make_list,
    propose,
)
from tests.pricing.test_handlers import produce
from tests.support import auth, eventually, running

CATALOG = "catalog.events"
CUSTOMERS = "storefront.customer-events"
ADMIN = auth("admin", subject="key-ops")


@pytest.fixture(scope="module")
def broker() -> Iterator[EmbeddedBroker]:
    """A broker of this module's own: the forged events must not reach other tests'
    readers of the shared topics."""
    with EmbeddedBroker() as running:
        yield running


@pytest.fixture
def consuming_app(make_settings: Callable[..., Settings], broker: EmbeddedBroker) -> FastAPI:
    # Many attempts: a dead letter after one proves no retry happened.
    settings = make_settings(consumer_max_attempts=5)
    return create_app(settings, clock=FakeClock(), scheduler_poll_s=0.05)


@pytest.fixture
async def client(
    consuming_app: FastAPI, broker: EmbeddedBroker
) -> AsyncIterator[httpx.AsyncClient]:
    await ensure_topics(broker.bootstrap, [CATALOG, CUSTOMERS], partitions=3)
    async with running(consuming_app) as http:
        yield http


async def _letters(client: httpx.AsyncClient, event_id: str) -> list[dict]:
    answer = await client.get("/v1/dead-letters", params={"limit": 200}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return [item for item in answer.json()["items"] if item.get("event_id") == event_id]


async def _dlq_headers(broker: EmbeddedBroker, event_id: str) -> dict[str, str]:
    """The headers of the `dlq.pricing` copy of the event, read from the start."""
    reader = AIOKafkaConsumer(
        "dlq.pricing", bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest"
    )
    await reader.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for records in (await reader.getmany(timeout_ms=500)).values():
                for record in records:
                    if event_id.encode() in (record.value or b""):
                        return {k: v.decode() for k, v in record.headers}
        raise AssertionError(f"no copy of {event_id} on dlq.pricing")
    finally:
        await reader.stop()


def _forged(product_id: str, *, source: str) -> CloudEvent:
    event = lifecycle_changed(product_id, "discontinued", version=2, at=FakeClock()())
    return event.model_copy(update={"source": source})


@pytest.mark.parametrize(
    ("topic", "source"),
    [(CUSTOMERS, "/catalog"), (CATALOG, "/feedback"), (CATALOG, "catalog")],
    ids=["wrong-topic", "wrong-source", "source-lookalike"],
)
async def test_a_forged_catalog_event_changes_nothing_and_is_dead_lettered(
    consuming_app: FastAPI,
    client: httpx.AsyncClient,
    broker: EmbeddedBroker,
    topic: str,
    source: str,
) -> None:
    product_id = await add_product(consuming_app, consuming_app.state.runtime.clock)
    await make_list(client)
    price = await propose(client, product_id)
    forged = _forged(product_id, source=source)

    await produce(broker, topic, forged)

    async def lettered() -> bool:
        return bool(await _letters(client, forged.id))

    await eventually(lettered, timeout_s=60)
    (letter,) = await _letters(client, forged.id)
    assert (letter["error_type"], letter["attempts"], letter["topic"]) == (
        "UntrustedOrigin",
        0,
        topic,
    )
    assert "accepted only from source /catalog on catalog.events" in letter["error_message"]
    headers = await _dlq_headers(broker, forged.id)
    assert headers["dlq-error-type"] == "UntrustedOrigin"
    assert headers["dlq-attempts"] == "0"
    assert f"came from source {source!r} on {topic}" in headers["dlq-error-message"]
    kept = await client.get(f"/v1/prices/{price['id']}", headers=READ)
    assert kept.json()["status"] == "proposed"
    # An admin's replay refuses it as the consumer did.
    replay = await client.post(f"/v1/dead-letters/{letter['id']}/replay", headers=ADMIN)
    assert replay.status_code == 409, replay.text
    assert "UntrustedOrigin" in replay.json()["detail"]

    genuine = _forged(product_id, source="/catalog")
    await produce(broker, CATALOG, genuine)

    async def withdrawn() -> bool:
        answer = await client.get(f"/v1/prices/{price['id']}", headers=READ)
        return bool(answer.json()["status"] == "withdrawn")

    await eventually(withdrawn, timeout_s=60)


# --- TLS and SASL for a production Kafka ---------------------------------------------------------


def test_a_plaintext_broker_gets_no_credentials(tmp_path: Path) -> None:
    assert kafka_security(Settings(data_dir=tmp_path)) == {"security_protocol": "PLAINTEXT"}


async def test_sasl_over_tls_reaches_every_kind_of_client(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        kafka_bootstrap="kafka-1:9093",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-256",
        kafka_sasl_username="pricing",
        kafka_sasl_password=SecretStr("s3cret-password"),
        kafka_ssl_cafile=Path(certifi.where()),
    )
    options = kafka_security(settings)
    assert isinstance(options.pop("ssl_context"), ssl.SSLContext)
    assert options == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "pricing",
        "sasl_plain_password": "s3cret-password",
    }
    # The relay's and the dead-letter producer: the client carries them to the broker.
    client = new_producer(settings).client
    assert (client._security_protocol, client._sasl_mechanism) == ("SASL_SSL", "SCRAM-SHA-256")
    assert client._sasl_plain_username == "pricing"
    assert isinstance(client._ssl_context, ssl.SSLContext)


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"kafka_security_protocol": "SSL"}, "needs kafka_bootstrap"),
        (
            {"kafka_bootstrap": "k:9093", "kafka_security_protocol": "SASL_SSL"},
            "needs kafka_sasl_username and kafka_sasl_password",
        ),
        (
            {
                "kafka_bootstrap": "k:9093",
                "kafka_security_protocol": "SSL",
                "kafka_ssl_cafile": "/nope",
            },
            "kafka_ssl_cafile",
        ),
    ],
)
def test_incomplete_kafka_security_is_refused_at_start(
    tmp_path: Path, values: dict[str, Any], complaint: str
) -> None:
    # Untyped as the environment gives them: refusing them is the model's validation.
    with pytest.raises(ValidationError) as caught:
        Settings(data_dir=tmp_path, **values)
    assert complaint in str(caught.value)
