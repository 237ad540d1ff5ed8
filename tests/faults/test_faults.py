"""The fault suite (reliability issue 9): the whole stack as processes, load through the
gateway while one fault happens, then the ledger: every accepted id applied exactly once by
every consumer, each key's events in order, nothing stuck. Each fault prints its figures.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import NamedTuple

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from shared.events import CONTENT_TYPE
from tests.faults.ledger import CATALOG_EVENTS, CONSUMES, CUSTOMER_EVENTS, DeadLetter, Outcome
from tests.faults.scenario import Scenario
from tests.support import assert_problem

pytestmark = [pytest.mark.stack, pytest.mark.timeout(420)]

Report = Callable[[Outcome], None]

# Longer than the relay's Kafka request timeout (3 s) and the consumers' session timeout
# (6 s) in `tests.faults.stack.STACK_SETTINGS`.
BROKER_PAUSE_S = 10.0
# Longer than the consumer's retry budget for one event (5 tries, ~3 s of backoff).
DATABASE_DOWN_S = 8.0
TRIAGE_DOWN_S = 8.0


async def test_broker_paused_longer_than_the_request_timeout(
    scenario: Scenario, report: Report
) -> None:
    stack, driver, ledger = scenario.stack, scenario.driver, scenario.ledger
    products = await driver.seed()
    driver.start(products, rounds=8, late_product_at=3)
    await driver.reached(2)
    stack.broker.pause()
    paused_at = time.monotonic()
    # Requests never wait on the broker: the load goes on through the pause.
    await driver.reached(4)
    await asyncio.sleep(max(0.0, BROKER_PAUSE_S - (time.monotonic() - paused_at)))
    stack.broker.resume()
    resumed_at = time.monotonic()
    await driver.finish()
    report(
        await ledger.settle(
            driver.accepted,
            fault=f"broker paused {BROKER_PAUSE_S:g}s",
            since=resumed_at,
            retried_requests=driver.retried,
        )
    )


async def test_broker_killed_and_restarted_with_its_memory_lost(
    scenario: Scenario, report: Report
) -> None:
    stack, driver, ledger = scenario.stack, scenario.driver, scenario.ledger
    products = await driver.seed()
    await driver.run(products, rounds=2)
    # Pricing falls behind (frozen), so the broker dies holding events no one applied yet.
    stack.freeze("pricing")
    await driver.run(products, rounds=3, back_office=False)
    await ledger.drained("catalog", "feedback")
    stack.kill_broker()
    stack.broker.start()
    restarted_at = time.monotonic()
    stack.thaw("pricing")
    await driver.run(products, rounds=3)
    report(
        await ledger.settle(
            driver.accepted,
            fault="broker killed and restarted empty",
            since=restarted_at,
            retried_requests=driver.retried,
        )
    )


async def test_service_killed_in_the_middle_of_a_batch_and_restarted(
    scenario: Scenario, report: Report
) -> None:
    stack, driver, ledger = scenario.stack, scenario.driver, scenario.ledger
    products = await driver.seed()
    # A backlog for pricing to work through in batches: it is frozen while it builds up.
    stack.freeze("pricing")
    await driver.run(products, rounds=6, back_office=False, pause_s=0)
    await ledger.drained("feedback")
    waiting = len(driver.accepted.purchases) + len(driver.accepted.reviews)
    stack.thaw("pricing")
    deadline = time.monotonic() + 60
    # Inside its first batch (up to 200 records): some events applied, their offsets not
    # committed yet.
    while (applied := await ledger.inbox("pricing", CUSTOMER_EVENTS)) < 30:
        assert time.monotonic() < deadline, "pricing never went through its backlog"
        await asyncio.sleep(0.01)
    killed = stack.kill("pricing")
    killed_at = time.monotonic()
    assert 0 < applied < waiting, f"killed after {applied} of {waiting}: not in the middle"
    await driver.run(products, rounds=3)
    assert stack.pid("pricing") != killed, "the supervisor restarted pricing"
    outcome = await ledger.settle(
        driver.accepted,
        fault=f"pricing SIGKILLed after {applied} of {waiting} waiting events",
        since=killed_at,
        retried_requests=driver.retried,
    )
    report(outcome)


class Landed(NamedTuple):
    """Where a record landed."""

    topic: str
    partition: int
    offset: int


async def _produce(bootstrap: str, topic: str, key: str, value: bytes) -> Landed:
    """Put a record on a topic as a misbehaving producer would."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        sent = await producer.send_and_wait(
            topic,
            value=value,
            key=key.encode(),
            headers=[("content-type", CONTENT_TYPE.encode())],
        )
    finally:
        await producer.stop()
    return Landed(topic, sent.partition, sent.offset)


def _cloudevent(event_type: str, source: str, subject: str | None, data: dict) -> bytes:
    return orjson.dumps(
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": source,
            "type": event_type,
            "subject": subject,
            "time": datetime.now(UTC).isoformat(),
            "datacontenttype": "application/json",
            "data": data,
        }
    )


async def test_poison_events_are_dead_lettered_once_and_nothing_waits_behind_them(
    scenario: Scenario, report: Report
) -> None:
    stack, driver, ledger = scenario.stack, scenario.driver, scenario.ledger
    products = await driver.seed()
    driver.start(products, rounds=6)
    await driver.reached(2)
    bootstrap = stack.broker.bootstrap
    # Each keyed like a real product's events, so they sit in front of them on a partition.
    poisons = [
        await _produce(bootstrap, CATALOG_EVENTS, products[0].id, b"\x00not json at all"),
        await _produce(bootstrap, CUSTOMER_EVENTS, products[1].id, b'{"hello": "not an event"}'),
        # A CloudEvent whose payload every handler's model refuses.
        await _produce(
            bootstrap,
            CATALOG_EVENTS,
            products[2].id,
            _cloudevent("catalog.product.created.v1", "/catalog", products[2].id, {"x": 1}),
        ),
        # A well-formed requirement whose handler always fails (its text has no words).
        await _produce(
            bootstrap,
            "feedback.events",
            products[3].id,
            _cloudevent(
                "feedback.requirement.identified.v1",
                "/feedback",
                products[3].id,
                {
                    "requirement_id": str(uuid.uuid4()),
                    "kind": "requirement",
                    "text": "!!! ???",
                    "occurrences": 1,
                    "occurred_at": datetime.now(UTC).isoformat(),
                },
            ),
        ),
    ]
    injected_at = time.monotonic()
    await driver.finish()
    expected = {
        DeadLetter(group, poison.topic, poison.partition, poison.offset)
        for poison in poisons
        for group, topics in CONSUMES.items()
        if poison.topic in topics
    }
    report(
        await ledger.settle(
            driver.accepted,
            fault=f"{len(poisons)} poison events",
            since=injected_at,
            expect_dead=expected,
            retried_requests=driver.retried,
        )
    )
    # Kept where an operator can see, replay or discard them, in each service.
    for group in CONSUMES:
        stored = await ledger.stored_dead_letters(group)
        assert stored == {letter for letter in expected if letter.group == group}, (
            f"{group} keeps no dead-letter store" if stored is None else stored
        )


async def test_an_oversized_event_holds_nothing_back(scenario: Scenario, report: Report) -> None:
    driver, ledger = scenario.driver, scenario.ledger
    products = await driver.seed()
    big = await driver.create_product(manual="x" * 300_000)
    driver.start(products, rounds=5)
    await driver.reached(1)
    # Its event carries the old and the new text: over a megabyte, more than Kafka takes.
    response = await driver.update_product(big, manual="y" * 800_000)
    parked = 0
    if response.status_code == 200:
        big.unsendable.add(big.version)
        parked = 1
    else:  # refused where it is made: nothing to park
        assert response.status_code in (413, 422), response.text
        assert_problem(response, response.status_code)
    followed = await driver.update_product(big)
    assert followed.status_code == 200, followed.text
    made_at = time.monotonic()
    await driver.finish()
    report(
        await ledger.settle(
            driver.accepted,
            fault="an oversized event" + (" (parked)" if parked else " (refused)"),
            since=made_at,
            expect_parked=parked,
            retried_requests=driver.retried,
        )
    )


async def test_postgres_restarted_under_load(postgres_scenario: Scenario, report: Report) -> None:
    stack, driver, ledger = (
        postgres_scenario.stack,
        postgres_scenario.driver,
        postgres_scenario.ledger,
    )
    assert stack.postgres is not None
    products = await driver.seed()
    driver.start(products, rounds=10)
    await driver.reached(2)
    await asyncio.to_thread(stack.postgres.stop)
    down_at = time.monotonic()
    # The storefront goes on (feedback's database is elsewhere): catalog and pricing
    # consume its events while their database is away.
    await driver.reached(5)
    await asyncio.sleep(max(0.0, DATABASE_DOWN_S - (time.monotonic() - down_at)))
    await asyncio.to_thread(stack.postgres.start)
    restarted_at = time.monotonic()
    await driver.finish()
    report(
        await ledger.settle(
            driver.accepted,
            fault=f"PostgreSQL of catalog and pricing down {DATABASE_DOWN_S:g}s, restarted",
            since=restarted_at,
            retried_requests=driver.retried,
        )
    )


async def test_a_second_replica_joins_and_leaves_during_load(
    scenario: Scenario, report: Report
) -> None:
    stack, driver, ledger = scenario.stack, scenario.driver, scenario.ledger
    products = await driver.seed()
    driver.start(products, rounds=12)
    await driver.reached(2)
    replica = stack.add_replica("pricing")
    await stack.wait_replica_ready(ledger.http, replica)
    # It took a share of the partitions: it applied events of its own.
    deadline = time.monotonic() + 60
    while (
        not ((await stack.readyz(ledger.http, "pricing", replica.port)) or {})
        .get("consumer", {})
        .get("handled")
    ):
        assert time.monotonic() < deadline, "the replica never consumed anything"
        await asyncio.sleep(0.5)
    replica.stop()
    left_at = time.monotonic()
    await driver.finish()
    report(
        await ledger.settle(
            driver.accepted,
            fault="a second pricing replica joined and left",
            since=left_at,
            retried_requests=driver.retried,
        )
    )


async def test_the_triage_model_failing_for_a_while(scenario: Scenario, report: Report) -> None:
    stack, driver, ledger = scenario.stack, scenario.driver, scenario.ledger
    products = await driver.seed()
    driver.start(products, rounds=8)
    await driver.reached(2)
    stack.switch_triage(down=True)
    down_at = time.monotonic()
    await driver.reached(5)
    await asyncio.sleep(max(0.0, TRIAGE_DOWN_S - (time.monotonic() - down_at)))
    stack.switch_triage(down=False)
    back_at = time.monotonic()
    await driver.finish()
    report(
        await ledger.settle(
            driver.accepted,
            fault=f"triage model failing {TRIAGE_DOWN_S:g}s",
            since=back_at,
            retried_requests=driver.retried,
        )
    )
