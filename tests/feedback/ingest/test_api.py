"""Ingestion over HTTP: per-event validation, duplicates, the batch cap, the outbox rows that
publish accepted events, and events waiting for the catalog to name their sku."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text

from services.feedback.app import create_app
from services.feedback.events import CUSTOMER_EVENTS_TOPIC, CustomerEventAccepted, registry
from services.feedback.handlers import on_product_created
from services.feedback.ingest import service as ingestion
from services.feedback.tables import customer_event
from shared.auth import Principal
from shared.events import decode, new_event
from shared.settings import Settings
from shared.tables import outbox
from tests.feedback.conftest import FAST, INGEST, READ, event, ingest, known_product, triaged
from tests.feedback.fakes import FakeTriage
from tests.support import assert_problem, auth, eventually, pg_database, running

# Another key of the same storefront (event ids are unique per owner).
THIRD = Principal(
    subject="storefront-3",
    name="storefront 1's other key",
    scopes=frozenset(),
    owner="storefront-1",
)


async def published(app: FastAPI, topic: str = CUSTOMER_EVENTS_TOPIC) -> list[Any]:
    async with app.state.runtime.db.reader() as session:
        rows = (
            await session.execute(
                select(outbox).where(outbox.c.topic == topic).order_by(outbox.c.seq)
            )
        ).all()
    return rows


async def stored(app: FastAPI) -> int:
    async with app.state.runtime.db.reader() as session:
        return await session.scalar(select(func.count()).select_from(customer_event))


async def test_accepted_events_are_stored_with_their_outbox_rows(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await known_product(app)
    # A whole-second time a day ago, sent with an offset: it comes back in UTC.
    day_ago = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    sent_at = day_ago.astimezone(timezone(timedelta(hours=2))).isoformat()
    batch = [
        event("review", rating=1, text="The lid burned me", sku="KT-1"),
        event("return"),
        event("support_ticket", priority="urgent"),
        event("question"),
        event("search_miss"),
        event("purchase", occurred_at=sent_at),
    ]
    response = await client.post(
        "/v1/customer-events", json={"events": batch}, headers={**INGEST, "X-Request-ID": "r-1"}
    )

    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": 6, "duplicates": 0, "rejected": []}
    rows = await published(app)
    assert len(rows) == 6
    for row, sent in zip(rows, batch, strict=True):
        envelope = decode(row.payload)
        assert row.key == "prod-1" == envelope.subject
        assert row.id == envelope.id
        assert row.type == envelope.type == "feedback.customer_event.accepted.v1"
        assert envelope.source == "/feedback"
        assert envelope.correlationid == "r-1"
        registry.payload(envelope)  # the data matches its registered model
        data = envelope.data
        assert data["event_id"] == sent["event_id"]
        assert data["kind"] == sent["kind"]
        assert data["customer_ref"] == "cust-1"
    review, *_, purchase = (decode(row.payload).data for row in rows)
    assert review == {
        "event_id": batch[0]["event_id"],
        "source": "storefront-1",
        "kind": "review",
        "occurred_at": batch[0]["occurred_at"],
        "product_id": "prod-1",
        "sku": "KT-1",
        "customer_ref": "cust-1",
        "rating": 1,
        "text": "The lid burned me",
    }
    utc = day_ago.isoformat().replace("+00:00", "Z")
    assert purchase["occurred_at"] == utc
    assert purchase["quantity"] == 2
    assert purchase["unit_price"] == {"amount": "19.99", "currency": "EUR"}
    assert purchase["sku"] == "KT-1"  # from the directory
    assert "text" not in purchase

    response = await client.get(f"/v1/customer-events/{batch[5]['event_id']}", headers=READ)
    assert response.status_code == 200
    assert response.json()["triage"] == "not_needed"
    assert response.json()["occurred_at"] == utc
    assert response.json()["status"] == "accepted"
    assert response.json()["source"] == "storefront-1"


async def test_bad_events_are_reported_by_index_and_the_good_ones_accepted(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await known_product(app)
    batch = [
        event("question"),
        event("review", rating=7),
        event("purchase"),
        event("rumour"),
        "not an event",
    ]
    body = await ingest(client, *batch)

    assert body["accepted"] == 2
    assert body["duplicates"] == 0
    assert body["rejected"] == [
        {
            "index": 1,
            "errors": [{"loc": ["rating"], "msg": "Input should be less than or equal to 5"}],
        },
        {
            "index": 3,
            "errors": [
                {
                    "loc": ["kind"],
                    "msg": "kind must be one of: review, return, support_ticket, question, "
                    "search_miss, purchase, survey_response",
                }
            ],
        },
        {"index": 4, "errors": [{"loc": [], "msg": "an event must be a JSON object"}]},
    ]
    assert await stored(app) == 2
    assert len(await published(app)) == 2


async def test_a_sale_names_its_account_on_the_wire_and_in_the_store(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await known_product(app)
    sale, refund, retail = (
        event("purchase", account="acme:eu-1"),
        event("return", account="acme:eu-1"),
        event("purchase"),
    )
    body = await ingest(client, sale, refund, retail, event("purchase", account="no spaces"))

    assert (body["accepted"], [r["index"] for r in body["rejected"]]) == (3, [3])
    assert body["rejected"][0]["errors"] == [
        {"loc": ["account"], "msg": "must be 1-128 of A-Z, a-z, 0-9, '.', '_', ':' or '-'"}
    ]
    sent = [decode(row.payload) for row in await published(app)]
    accounts = [CustomerEventAccepted.model_validate(e.data).account for e in sent]
    assert accounts == ["acme:eu-1", "acme:eu-1", None]
    assert "account" not in sent[2].data
    for sent_event, account in ((sale, "acme:eu-1"), (retail, None)):
        response = await client.get(f"/v1/customer-events/{sent_event['event_id']}", headers=READ)
        assert response.status_code == 200, response.text
        assert response.json()["account"] == account


async def test_replayed_event_ids_are_duplicates_and_change_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await known_product(app)
    first = [event("question"), event("purchase"), event("review")]
    assert (await ingest(client, *first))["accepted"] == 3

    fresh = event("return")
    # The new one among replays (before, between and after them) is the one published.
    replay = await ingest(client, first[0], fresh, first[1], fresh, first[2])
    assert replay == {"accepted": 1, "duplicates": 4, "rejected": []}
    announced = [orjson.loads(row.payload)["data"]["event_id"] for row in await published(app)]
    assert announced == [e["event_id"] for e in (*first, fresh)]
    # Another key of the same owner replaying them: still duplicates.
    rotated = auth("feedback:ingest", subject="storefront-1b", owner="storefront-1")
    again = await client.post("/v1/customer-events", json={"events": [first[0]]}, headers=rotated)
    assert again.json() == {"accepted": 0, "duplicates": 1, "rejected": []}
    # Another storefront's ids are its own (tests/security/test_storefront_sales.py).
    other = auth("feedback:ingest", subject="storefront-2")
    theirs = await client.post("/v1/customer-events", json={"events": [first[0]]}, headers=other)
    assert theirs.json() == {"accepted": 1, "duplicates": 0, "rejected": []}

    assert await stored(app) == 5
    assert len(await published(app)) == 5


async def test_a_batch_over_the_cap_is_refused_whole(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    events = [event("purchase", event_id=f"cap-{i}") for i in range(1001)]
    response = await client.post("/v1/customer-events", json={"events": events}, headers=INGEST)
    body = assert_problem(response, 413, detail_has="at most 1000 events")
    assert body["max_events"] == 1000
    assert await stored(app) == 0

    accepted = await ingest(client, *events[:1000])
    assert accepted["accepted"] == 1000


@pytest.mark.postgres
async def test_concurrent_batches_sharing_ids_in_opposite_orders_store_each_once(
    make_settings: Callable[..., Settings], fake_triage: FakeTriage
) -> None:
    """Two storefronts send one batch at once, in opposite orders, while a third holds one of
    its ids uncommitted: both inserts stop at that id, so each holds the rows it has already
    inserted when the third commits. Were the rows locked in batch order, each would then
    wait for the other's rows and PostgreSQL would abort one of them as a deadlock."""
    rounds, size = 3, 200
    async with pg_database() as url:
        settings = make_settings(feedback_database_url=url, run_consumers=False)
        app = create_app(settings, feedback=FAST, triage=lambda: fake_triage)
        runtime = app.state.runtime
        async with running(app) as client:

            async def post(events: list[dict[str, Any]]) -> httpx.Response:
                return await client.post(
                    "/v1/customer-events", json={"events": events}, headers=INGEST
                )

            async def both_blocked() -> bool:
                async with runtime.db.reader() as session:
                    waiting = await session.scalar(
                        text(
                            "SELECT count(*) FROM pg_stat_activity WHERE datname ="
                            " current_database() AND wait_event_type = 'Lock'"
                        )
                    )
                return waiting == 2

            for round_no in range(rounds):
                batch = [event("purchase", event_id=f"r{round_no}-{i:04}") for i in range(size)]
                third = ingestion.prepare(
                    events=[batch[size // 2]], principal=THIRD, now=runtime.clock()
                )
                async with runtime.uow() as uow:
                    await ingestion.store(uow=uow, batches=[third])
                    sent = [asyncio.create_task(post(e)) for e in (batch, batch[::-1])]
                    await eventually(both_blocked, timeout_s=10)
                responses = await asyncio.gather(*sent)

                assert [r.status_code for r in responses] == [202, 202], responses
                bodies = [r.json() for r in responses]
                assert sum(b["accepted"] for b in bodies) == size - 1
                assert sum(b["duplicates"] for b in bodies) == size + 1
            async with runtime.db.reader() as session:
                ids = list((await session.execute(select(customer_event.c.event_id))).scalars())
    assert len(ids) == len(set(ids)) == rounds * size


async def test_a_malformed_body_is_a_problem(client: httpx.AsyncClient) -> None:
    cases: list[tuple[bytes, str, list[str]]] = [
        (b"{not json", "not valid JSON", ["body"]),
        # Half a UTF-16 pair is not text any database keeps; orjson refuses the whole body.
        (b'{"events": [{"text": "a \\ud800"}]}', "not valid JSON", ["body"]),
        (b"[]", '"events"', ["body"]),
        (orjson.dumps({"events": [], "extra": 1}), '"events"', ["body"]),
        (orjson.dumps({"events": []}), "non-empty list", ["body", "events"]),
        (orjson.dumps({"events": {"a": 1}}), "non-empty list", ["body", "events"]),
    ]
    for content, detail, loc in cases:
        response = await client.post(
            "/v1/customer-events",
            content=content,
            headers={**INGEST, "Content-Type": "application/json"},
        )
        body = assert_problem(response, 422, detail_has=detail)
        assert body["errors"][0]["loc"] == loc


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_a_batch_not_sent_as_json_is_415(
    client: httpx.AsyncClient, content_type: str | None
) -> None:
    """Read by hand, the body was taken whatever its media type, before."""
    headers = {**INGEST, **({"Content-Type": content_type} if content_type else {})}
    response = await client.post(
        "/v1/customer-events",
        content=orjson.dumps({"events": [event("question")]}),
        headers=headers,
    )
    assert_problem(response, 415, detail_has="Content-Type: application/json")
    assert (await client.get("/v1/feedback", headers=READ)).json()["items"] == []


async def test_ingestion_needs_the_ingest_scope(client: httpx.AsyncClient) -> None:
    batch = {"events": [event("question")]}
    assert_problem(await client.post("/v1/customer-events", json=batch), 401)
    response = await client.post(
        "/v1/customer-events", json=batch, headers=auth("feedback:read feedback:write")
    )
    assert_problem(response, 403, detail_has="feedback:ingest")
    assert_problem(await client.get("/v1/customer-events/nope", headers=READ), 404)


async def test_an_unknown_sku_waits_for_the_catalog(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    waiting = [
        event("review", product_id=None, sku="KT-NEW", text="Lid is loose"),
        event("purchase", product_id=None, sku="KT-NEW"),
    ]
    assert (await ingest(client, *waiting))["accepted"] == 2
    assert await published(app) == []
    response = await client.get(f"/v1/customer-events/{waiting[0]['event_id']}", headers=READ)
    assert response.json()["triage"] == "waiting_for_catalog"
    assert response.json()["product_id"] is None

    created = new_event(
        source="/catalog",
        type="catalog.product.created.v1",
        subject="prod-new",
        data={
            "product_id": "prod-new",
            "sku": "KT-NEW",
            "name": "Kettle",
            "product_type": "kettle",
        },
        sequence=1,
    )
    async with app.state.runtime.uow() as uow:
        await on_product_created(created, uow)

    rows = await published(app)
    assert [decode(r.payload).data["event_id"] for r in rows] == [e["event_id"] for e in waiting]
    assert {r.key for r in rows} == {"prod-new"}
    await triaged(client, waiting[0]["event_id"])
    response = await client.get(f"/v1/customer-events/{waiting[0]['event_id']}", headers=READ)
    assert response.json()["product_id"] == "prod-new"
    assert response.json()["triage"] == "done"

    # Now the directory knows it: an sku resolves at once, a product id gains its sku.
    later = [
        event("purchase", product_id=None, sku="KT-NEW"),
        event("purchase", product_id="prod-new"),
    ]
    await ingest(client, *later)
    datas = [decode(r.payload).data for r in (await published(app))[2:]]
    assert [(d["product_id"], d["sku"]) for d in datas] == [("prod-new", "KT-NEW")] * 2
