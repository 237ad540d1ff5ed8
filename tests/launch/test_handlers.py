"""Launch's handlers: other services' events, applied as the consumer applies them (inbox,
sequence check, one transaction), keep the projections and re-evaluate the product's plans;
a redelivered or older event changes nothing. The last test goes through the real broker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import func, select

from services.launch.tables import finding, price, product
from shared.broker import EmbeddedBroker, ensure_topics
from shared.events import CloudEvent, encode, kafka_headers
from shared.faults import is_event_error
from shared.settings import Settings
from shared.tables import inbox
from tests.launch.conftest import (
    BOSS,
    LIST,
    READER,
    START,
    FakeClock,
    decision_recorded,
    deliver,
    finding_event,
    gate,
    known_product,
    make_ready,
    new_app,
    new_id,
    ok,
    outbox_events,
    outbox_types,
    plan,
    price_event,
    product_created,
    product_updated,
)
from tests.support import eventually, running


async def launch_of(client: httpx.AsyncClient, launch: dict) -> dict:
    return ok(await client.get(f"/v1/launches/{launch['id']}", headers=READER))


async def test_a_critical_finding_blocks_and_resolving_it_unblocks(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    product_id = await known_product(app)
    launch = await make_ready(client, await plan(client, product_id))
    assert launch["readiness"] == "ready"
    before = len(await outbox_types(app, product_id))

    opened = finding_event(product_id, item_count=2)
    assert await deliver(app, opened, opened) == ["handled", "duplicate"]
    blocked = await launch_of(client, launch)
    defects = gate(blocked, "no_critical_defects")
    assert (blocked["readiness"], defects["status"]) == ("blocked", "fail")
    assert defects["reasons"][0]["data"]["item_count"] == 2
    events = (await outbox_events(app, product_id))[before:]
    assert [e.type for e in events] == [
        "launch.gate.changed.v1",
        "launch.gate.changed.v1",
        "launch.blocked.v1",
    ]
    assert [e.data["gate"]["name"] for e in events[:2]] == [
        "no_critical_defects",
        "spec_improvements",
    ]
    # The plan's events say what caused them.
    assert {e.causationid for e in events} == {opened.id}
    assert events[-1].data["blocking"][0]["reasons"][0]["ref"] == f"finding-{product_id}"

    # Known is not fixed: an acknowledged critical finding still blocks.
    acknowledged = finding_event(product_id, verb="updated", status="acknowledged", version=2)
    grown = finding_event(
        product_id, verb="updated", status="acknowledged", version=3, item_count=5
    )
    await deliver(app, acknowledged, grown)
    still = await launch_of(client, launch)
    assert gate(still, "no_critical_defects")["reasons"][0]["data"]["item_count"] == 5
    assert still["readiness"] == "blocked"

    resolved = finding_event(product_id, verb="resolved", status="resolved", version=4)
    older = finding_event(product_id, verb="updated", status="open", version=2)
    assert await deliver(app, resolved, older) == ["handled", "handled"]
    ready = await launch_of(client, launch)
    assert (ready["readiness"], gate(ready, "no_critical_defects")["status"]) == ("ready", "pass")
    types = await outbox_types(app, product_id)
    assert types[-1] == "launch.ready.v1"
    # The older update after the resolution changed nothing.
    async with app.state.runtime.db.reader() as session:
        row = (
            await session.execute(select(finding).where(finding.c.product_id == product_id))
        ).one()
    assert (row.status, row.version) == ("resolved", 4)


async def test_prices_pass_price_approved_on_the_plans_list_and_date(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    product_id = new_id()
    await deliver(app, product_created(product_id))
    launch = await plan(client, product_id)
    no_price = gate(launch, "price_approved")
    assert (no_price["status"], no_price["reasons"][0]["code"]) == ("fail", "no_price")
    assert no_price["reasons"][0]["ref"] == LIST

    proposed = price_event(product_id, status="proposed", version=1, sequence=1)
    elsewhere = price_event(
        product_id,
        price_id="other-list",
        price_list="us-web",
        status="approved",
        version=2,
        sequence=2,
    )
    await deliver(app, proposed, elsewhere)
    waiting = gate(await launch_of(client, launch), "price_approved")
    assert [(r["code"], r["ref"]) for r in waiting["reasons"]] == [
        ("no_price", LIST),
        ("price_not_approved", f"price-{product_id}"),
    ]
    too_late = price_event(
        product_id, status="approved", version=2, sequence=3, valid_from=START + timedelta(days=60)
    )
    await deliver(app, too_late)
    assert gate(await launch_of(client, launch), "price_approved")["reasons"][1]["code"] == (
        "price_not_valid"
    )
    in_time = price_event(product_id, status="approved", version=3, sequence=4)
    stale = price_event(product_id, status="proposed", version=1, sequence=1)
    assert await deliver(app, in_time, stale) == ["handled", "stale"]
    passed = gate(await launch_of(client, launch), "price_approved")
    assert (passed["status"], passed["reasons"]) == ("pass", [])
    # A snapshot of the same price state changes nothing, though it is newer in sequence.
    before = await outbox_types(app, product_id)
    snapshot = price_event(product_id, status="approved", verb="snapshot", version=3, sequence=5)
    assert await deliver(app, snapshot) == ["handled"]
    assert await outbox_types(app, product_id) == before


async def test_catalog_completeness_decisions_and_snapshots(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    product_id = await known_product(app)
    launch = await plan(client, product_id)
    incomplete = product_updated(product_id, version=2, score=80, missing=("wattage", "capacity_l"))
    await deliver(app, incomplete)
    complete = gate(await launch_of(client, launch), "catalog_complete")
    assert complete["status"] == "fail"
    assert [(r["code"], r["ref"]) for r in complete["reasons"]] == [
        ("missing_attribute", "wattage"),
        ("missing_attribute", "capacity_l"),
    ]
    assert complete["reasons"][0]["data"] == {"completeness": 80}

    rejected = decision_recorded(product_id, "reject", number=2)
    superseded = decision_recorded(product_id, "adopt", number=1)
    await deliver(app, rejected, superseded)
    reasons = gate(await launch_of(client, launch), "catalog_complete")["reasons"]
    assert [r["code"] for r in reasons] == [
        "decision_rejected",
        "missing_attribute",
        "missing_attribute",
    ]

    # The catalog's snapshot of version 2 is what launch has: stale. Version 3 fixes it.
    again = product_created(product_id)
    snapshot = again.model_copy(
        update={
            "type": "catalog.product.snapshot.v1",
            "sequence": "2",
            "data": {
                **again.data,
                "version": 2,
                "decision": {
                    "decision_id": "d",
                    "number": 3,
                    "outcome": "adopt",
                    "decided_at": START.isoformat(),
                },
                "updated_at": START.isoformat(),
            },
        }
    )
    fixed = product_updated(
        product_id, version=3, changes=[{"field": "product_type", "old": "kettle", "new": "urn"}]
    )
    assert await deliver(app, snapshot, fixed) == ["stale", "handled"]
    still_rejected = gate(await launch_of(client, launch), "catalog_complete")
    assert [r["code"] for r in still_rejected["reasons"]] == ["decision_rejected"]
    async with app.state.runtime.db.reader() as session:
        row = (await session.execute(select(product).where(product.c.id == product_id))).one()
    assert (row.product_type, row.catalog_version, row.decision) == ("urn", 3, "reject")

    newer = snapshot.model_copy(
        update={"id": new_id("evt"), "sequence": "4", "data": {**snapshot.data, "version": 4}}
    )
    await deliver(app, newer)
    adopted = gate(await launch_of(client, launch), "catalog_complete")
    assert (adopted["status"], adopted["reasons"]) == ("pass", [])


async def test_facts_of_a_product_not_yet_planned_are_kept(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    product_id = new_id()
    await deliver(
        app,
        finding_event(product_id),
        price_event(product_id, status="approved", version=1, sequence=1),
        decision_recorded(product_id, "adopt", number=1),
    )
    async with app.state.runtime.db.reader() as session:
        counts = [
            await session.scalar(
                select(func.count())
                .select_from(table)
                .where((table.c.id if table is product else table.c.product_id) == product_id)
            )
            for table in (product, price, finding)
        ]
    assert counts == [1, 1, 1]
    assert await outbox_types(app, product_id) == []


async def test_a_launched_plan_is_watched_until_its_monitoring_ends(
    app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    product_id = await known_product(app)
    launch = await make_ready(client, await plan(client, product_id, target=START.date()))
    ok(await client.post(f"/v1/launches/{launch['id']}/approve", headers=BOSS))

    clock.advance(days=3)
    await deliver(app, finding_event(product_id))
    risky = await launch_of(client, launch)
    assert (risky["status"], risky["at_risk"]) == ("launched", True)
    assert risky["at_risk_reasons"][0]["code"] == "critical_finding"
    at_risk = (await outbox_events(app, product_id))[-1]
    assert (at_risk.type, at_risk.data["at_risk"]) == ("launch.at_risk.v1", True)

    await deliver(app, finding_event(product_id, verb="resolved", status="resolved", version=2))
    calm = await launch_of(client, launch)
    assert (calm["at_risk"], calm["at_risk_reasons"]) == (False, [])

    clock.advance(days=30)  # past the monitoring window
    before = await outbox_types(app, product_id)
    other = finding_event(product_id, finding_id=new_id("f"))
    await deliver(app, other)
    assert (await launch_of(client, launch))["at_risk"] is False
    assert await outbox_types(app, product_id) == before


async def test_an_unreadable_event_is_an_event_error(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    broken = finding_event(new_id())
    broken = broken.model_copy(update={"data": {**broken.data, "item_count": "many"}})
    with pytest.raises(ValidationError) as caught:
        await deliver(app, broken)
    # So the consumer dead-letters it at once instead of retrying.
    assert is_event_error(caught.value)
    assert await outbox_types(app) == []


# --- through the real broker --------------------------------------------------------------------


@pytest.fixture
def consuming_app(
    make_settings: Callable[..., Settings], database_url: str, clock: FakeClock
) -> FastAPI:
    settings = make_settings(launch_database_url=database_url, consumer_max_attempts=2)
    return new_app(settings, clock)


@pytest.fixture
async def consuming_client(
    consuming_app: FastAPI, broker: EmbeddedBroker
) -> AsyncIterator[httpx.AsyncClient]:
    await ensure_topics(
        broker.bootstrap, ["catalog.events", "pricing.events", "feedback.events"], partitions=3
    )
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
    async with app.state.runtime.db.reader() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(inbox)
            .where(inbox.c.event_id.in_([e.id for e in events]))
        )
    return count == len({e.id for e in events})


async def test_facts_from_the_real_broker_block_and_unblock_once(
    consuming_app: FastAPI, consuming_client: httpx.AsyncClient, broker: EmbeddedBroker
) -> None:
    product_id = new_id()
    created = product_created(product_id)
    approved = price_event(
        product_id, status="approved", version=1, sequence=1, valid_from=START - timedelta(days=1)
    )
    await produce(broker, "catalog.events", created, created)
    await produce(broker, "pricing.events", approved)
    await eventually(lambda: handled(consuming_app, created, approved), timeout_s=60)
    launch = await make_ready(consuming_client, await plan(consuming_client, product_id))
    assert launch["readiness"] == "ready"

    critical = finding_event(product_id)
    await produce(broker, "feedback.events", critical, critical)
    await eventually(lambda: handled(consuming_app, critical), timeout_s=60)
    assert (await launch_of(consuming_client, launch))["readiness"] == "blocked"

    fixed = finding_event(product_id, verb="resolved", status="resolved", version=2)
    await produce(broker, "feedback.events", fixed, fixed)
    await eventually(lambda: handled(consuming_app, fixed), timeout_s=60)
    assert (await launch_of(consuming_client, launch))["readiness"] == "ready"
    # Each redelivery was absorbed by the inbox: one blocked, one ready.
    types = await outbox_types(consuming_app, product_id)
    assert (types.count("launch.blocked.v1"), types.count("launch.ready.v1")) == (1, 2)
