"""Catalog, purchase, return and launch events from the real broker: pricing learns cost,
lifecycle, purchases, returns and launch goals, and a redelivered event changes nothing.

The topics are the real, fixed ones, shared by the session: every test uses its own
product ids.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from decimal import Decimal

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from fastapi import FastAPI
from sqlalchemy import func, select

from services.pricing.app import create_app
from services.pricing.tables import product, product_cost
from shared.broker import EmbeddedBroker, ensure_topics
from shared.events import CloudEvent, decode, encode, kafka_headers
from shared.settings import Settings
from shared.tables import dead_letter, inbox
from tests.pricing.conftest import (
    BOSS,
    FINANCE,
    READ,
    START,
    FakeClock,
    cost_changed,
    created,
    eventually,
    lifecycle_changed,
    make_list,
    new_id,
    outbox_types,
    propose,
    purchase_event,
    settle,
)
from tests.pricing.test_plans import GOALS, launched_event, return_event
from tests.support import caught_up, consumed, running

pytestmark = pytest.mark.broker

CATALOG = "catalog.events"
CUSTOMERS = "storefront.customer-events"
LAUNCHES = "launch.events"


@pytest.fixture
def consuming_app(
    make_settings: Callable[..., Settings], database_url: str, clock: FakeClock
) -> FastAPI:
    settings = make_settings(pricing_database_url=database_url, consumer_max_attempts=2)
    return create_app(settings, clock=clock, scheduler_poll_s=0.05)


@pytest.fixture
async def client(
    consuming_app: FastAPI, broker: EmbeddedBroker
) -> AsyncIterator[httpx.AsyncClient]:
    await ensure_topics(broker.bootstrap, [CATALOG, CUSTOMERS], partitions=3)
    async with running(consuming_app) as http:
        yield http


async def produce(broker: EmbeddedBroker, topic: str, *events: CloudEvent) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        for event in events:
            assert event.subject is not None
            await producer.send_and_wait(
                topic, value=encode(event), key=event.subject.encode(), headers=kafka_headers()
            )
    finally:
        await producer.stop()


async def handled(app: FastAPI, *events: CloudEvent) -> bool:
    """Every one of these events has gone through the inbox."""
    async with app.state.runtime.db.reader() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(inbox)
            .where(inbox.c.event_id.in_([e.id for e in events]))
        )
    return count == len({e.id for e in events})


async def outcomes(
    client: httpx.AsyncClient, topic: str, broker: EmbeddedBroker | None = None
) -> Counter[str]:
    """How many events the pricing consumer took from `topic`, by outcome (from /metrics).

    With `broker`, first wait until the group has handled everything already on its topics:
    the metrics are the process's, and events earlier tests left unconsumed would otherwise
    be counted with this test's."""
    if broker is not None:
        await eventually(
            lambda: caught_up(broker.bootstrap, "pricing", [CATALOG, CUSTOMERS]), timeout_s=60
        )
    return Counter(
        {
            outcome: int(await consumed(client, group="pricing", topic=topic, outcome=outcome))
            for outcome in ("handled", "duplicate", "stale")
        }
    )


async def test_cost_and_lifecycle_from_catalog_events_with_redelivery(
    consuming_app: FastAPI, client: httpx.AsyncClient, broker: EmbeddedBroker, clock: FakeClock
) -> None:
    product_id = new_id()
    first = created(product_id, cost="10.00", at=START)
    raised = cost_changed(product_id, "10.00", "12.00", version=2, at=START.replace(hour=12))
    # Stale: an older version arriving late must not bring back an older cost.
    stale = cost_changed(product_id, "12.00", "99.00", version=1, at=START.replace(hour=13))
    marker = lifecycle_changed(product_id, "active", version=3, at=START.replace(hour=14))
    before = await outcomes(client, CATALOG, broker)
    await produce(broker, CATALOG, first, first, raised, raised, stale, marker)
    await eventually(lambda: handled(consuming_app, first, raised, stale, marker), timeout_s=60)
    # The inbox turned the copies away; the sequence check only the older version.
    assert await outcomes(client, CATALOG) - before == Counter(handled=3, duplicate=2, stale=1)

    async with consuming_app.state.runtime.db.reader() as session:
        row = (await session.execute(select(product).where(product.c.id == product_id))).one()
        history = (
            await session.execute(
                select(product_cost.c.amount, product_cost.c.valid_from)
                .where(product_cost.c.product_id == product_id)
                .order_by(product_cost.c.valid_from)
            )
        ).all()
    assert (row.catalog_version, row.lifecycle, row.cost_amount) == (3, "active", Decimal("12"))
    # One history point per applied change: the redeliveries and the stale event added none.
    assert [(f"{a:.2f}", t) for a, t in history] == [
        ("10.00", START),
        ("12.00", START.replace(hour=12)),
    ]
    await make_list(client)
    proposed = await propose(client, product_id, "20.00")
    assert proposed["cost"] == {"amount": "12.00", "currency": "EUR"}


async def test_an_event_whose_subject_is_another_product_is_dead_lettered(
    consuming_app: FastAPI, client: httpx.AsyncClient, broker: EmbeddedBroker
) -> None:
    """Its subject orders and keys it; its data named the product it changed. Before, a cost
    change whose subject named another product was applied to the product in its data,
    past that product's staleness check."""
    product_id = new_id()
    first = created(product_id, cost="10.00", at=START)
    forged = cost_changed(product_id, "10.00", "99.00", version=2, at=START.replace(hour=12))
    forged = forged.model_copy(update={"subject": new_id()})
    marker = lifecycle_changed(product_id, "active", version=2, at=START.replace(hour=13))
    await produce(broker, CATALOG, first, forged, marker)
    # Keyed by its subject, the forged event may sit on another partition than the others.
    await eventually(lambda: handled(consuming_app, first, marker), timeout_s=60)
    await eventually(lambda: _dead_lettered(consuming_app, forged), timeout_s=60)

    async with consuming_app.state.runtime.db.reader() as session:
        row = (await session.execute(select(product).where(product.c.id == product_id))).one()
        letters = (
            await session.execute(
                select(dead_letter.c.error_type, dead_letter.c.attempts).where(
                    dead_letter.c.event_id == forged.id
                )
            )
        ).all()
    assert (row.catalog_version, row.lifecycle, row.cost_amount) == (2, "active", Decimal("10"))
    assert [tuple(letter) for letter in letters] == [("InvalidEvent", 1)]


async def _dead_lettered(app: FastAPI, event: CloudEvent) -> bool:
    async with app.state.runtime.db.reader() as session:
        found = await session.scalar(select(func.count()).where(dead_letter.c.event_id == event.id))
    return found == 1


async def test_a_discontinued_product_via_the_broker_once(
    consuming_app: FastAPI, client: httpx.AsyncClient, broker: EmbeddedBroker, clock: FakeClock
) -> None:
    product_id = new_id()
    first = created(product_id, at=START)
    await produce(broker, CATALOG, first)
    await eventually(lambda: handled(consuming_app, first), timeout_s=60)
    await make_list(client)
    live = await propose(client, product_id, "20.00")
    resp = await client.post(f"/v1/prices/{live['id']}/approve", headers=BOSS)
    assert resp.status_code == 200, resp.text
    await settle(consuming_app, clock)
    open_one = await propose(client, product_id, "21.00")

    gone = lifecycle_changed(product_id, "discontinued", version=2, at=clock())
    # The product's next event, on the same key: consumed after both copies.
    marker = cost_changed(product_id, "10.00", "11.00", version=3, at=clock())
    before = await outcomes(client, CATALOG, broker)
    await produce(broker, CATALOG, gone, gone, marker)
    await eventually(lambda: handled(consuming_app, gone, marker), timeout_s=60)
    assert await outcomes(client, CATALOG) - before == Counter(handled=2, duplicate=1)
    statuses = [
        (await client.get(f"/v1/prices/{p['id']}", headers=READ)).json()["status"]
        for p in (live, open_one)
    ]
    assert statuses == ["expired", "withdrawn"]
    # The redelivery was skipped by the inbox: one event per price, not two.
    types = await outbox_types(consuming_app, product_id)
    assert types.count("pricing.price.expired.v1") == 1
    assert types.count("pricing.price.withdrawn.v1") == 1


async def test_purchases_feed_metrics_once(
    consuming_app: FastAPI, client: httpx.AsyncClient, broker: EmbeddedBroker
) -> None:
    product_id = new_id()
    first = created(product_id, cost="10.00", at=START)
    await produce(broker, CATALOG, first)
    one = purchase_event(product_id, occurred_at=START.replace(hour=10), quantity=1)
    # The same client event re-sent by the feedback service in a fresh envelope.
    resent = purchase_event(
        product_id, occurred_at=START.replace(hour=10), quantity=1, event_id=one.data["event_id"]
    )
    three = purchase_event(product_id, occurred_at=START.replace(hour=11), quantity=3)
    review = purchase_event(product_id, occurred_at=START.replace(hour=12), kind="review")
    before = await outcomes(client, CUSTOMERS, broker)
    await produce(broker, CUSTOMERS, one, one, resent, three, review)
    await eventually(
        lambda: handled(consuming_app, first, one, resent, three, review), timeout_s=60
    )
    # The copy of `one` stops at the inbox; `resent`, a new envelope, at the metrics' own key.
    assert (await outcomes(client, CUSTOMERS) - before)["duplicate"] == 1
    resp = await client.get(
        f"/v1/products/{product_id}/metrics",
        params={"from": "2030-03-01", "to": "2030-03-01"},
        headers=FINANCE,
    )
    assert resp.status_code == 200, resp.text
    (day,) = resp.json()["days"]
    assert (day["units"], day["revenue"], day["cost"], day["margin"]) == (
        4,
        "79.96",
        "40.00",
        "39.96",
    )


async def test_a_malformed_purchase_goes_to_the_dead_letter_topic(
    consuming_app: FastAPI, client: httpx.AsyncClient, broker: EmbeddedBroker
) -> None:
    product_id = new_id()
    good = purchase_event(product_id, occurred_at=START, quantity=2)
    bad = purchase_event(product_id, occurred_at=START)
    bad = bad.model_copy(update={"data": {**bad.data, "unit_price": {"amount": 19.99}}})
    await produce(broker, CUSTOMERS, bad, good)
    await eventually(lambda: handled(consuming_app, good), timeout_s=60)
    assert consuming_app.state.runtime.consumer.dead_lettered >= 1

    consumer = AIOKafkaConsumer(
        "dlq.pricing", bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: list[ConsumerRecord] = []
    try:
        deadline = time.monotonic() + 30
        while not found and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                found += [r for r in records if r.key == product_id.encode()]
    finally:
        await consumer.stop()
    assert [decode(r.value).id for r in found] == [bad.id]
    headers = dict(found[0].headers)
    assert headers["dlq-original-topic"] == CUSTOMERS.encode()
    assert headers["dlq-error-type"] == b"ValidationError"


async def test_returns_and_launch_goals_through_the_inbox_once(
    consuming_app: FastAPI, client: httpx.AsyncClient, broker: EmbeddedBroker
) -> None:
    await ensure_topics(broker.bootstrap, [LAUNCHES], partitions=3)
    product_id = new_id()
    first = created(product_id, cost="10.00", at=START)
    await produce(broker, CATALOG, first)
    sale = purchase_event(product_id, occurred_at=START.replace(hour=10), quantity=5)
    back = return_event(product_id, occurred_at=START.replace(hour=11), event_id="ret-1")
    # The same return re-sent in a fresh envelope: stopped by its own key, not the inbox.
    back_again = return_event(product_id, occurred_at=START.replace(hour=11), event_id="ret-1")
    await produce(broker, CUSTOMERS, sale, back, back, back_again)
    launch = launched_event(product_id, at=START, goals=GOALS, launch_id="launch-1")
    relaunch = launched_event(product_id, at=START.replace(day=20), goals=GOALS)
    await produce(broker, LAUNCHES, launch, launch, relaunch)
    await eventually(
        lambda: handled(consuming_app, first, sale, back, back_again, launch, relaunch),
        timeout_s=60,
    )

    listed = await client.get("/v1/plans", params={"subject": product_id}, headers=FINANCE)
    (plan,) = listed.json()["items"]
    assert (plan["source"], plan["launch_id"]) == ("launch", "launch-1")
    assert [t["month"] for t in plan["targets"]] == ["2030-03", "2030-04", "2030-05"]
    assert await outbox_types(consuming_app, product_id) == ["pricing.plan.created.v1"]
    view = await client.get(
        f"/v1/plans/{plan['id']}/performance", params={"as_of": "2030-03-02"}, headers=FINANCE
    )
    actual = view.json()["months"][0]["actual"]
    # 5 sold at 19.99, one returned at that price.
    assert (actual["units_sold"], actual["units_returned"], actual["revenue"]) == (5, 1, "79.96")
