"""Security issue 12, finding 6: the rate limit counted requests, not events, so one token
bought 1,000 stored events. The gateway now limits each key's events a second, and feedback
pushes back (429, `Retry-After`) while its triage queue or its outbox is over a bound."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
import pytest

from gateway.app import create_app as create_gateway
from gateway.ingest import events_in
from services.feedback.app import create_app as create_feedback
from shared.settings import Settings
from tests.feedback.conftest import FAST, event, known_product
from tests.gateway.conftest import Ticks
from tests.gateway.upstream import serving
from tests.support import assert_problem, auth, running

INGEST = auth("feedback:ingest", subject="storefront-1")
_ids = itertools.count(1)


def batch(size: int, kind: str = "question", **fields: Any) -> dict[str, Any]:
    return {"events": [event(kind, event_id=f"rate-{next(_ids)}", **fields) for _ in range(size)]}


def no_model() -> Any:
    """A triage model that never loads: the queue only grows, as under a stalled worker."""
    raise RuntimeError("the model is held back for this test")


@asynccontextmanager
async def through_gateway(
    make_settings: Callable[..., Settings], ticks: Ticks, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway (rate limiters on `ticks`) in front of a real feedback service on a port."""
    feedback = create_feedback(
        make_settings(run_consumers=False, **overrides), feedback=FAST, triage=no_model
    )
    async with running(feedback), serving(feedback) as port:
        # What is tested is the limits, not speed: a 1,000-event batch on a loaded machine
        # may take longer than the default 5 s upstream timeout.
        gateway = create_gateway(
            make_settings(feedback_port=port, upstream_timeout_s=60, **overrides),
            services=["feedback"],
            monotonic=ticks,
        )
        async with running(gateway) as client:
            yield client


async def test_a_key_is_limited_by_the_events_it_sends_not_its_requests(
    make_settings: Callable[..., Settings],
) -> None:
    ticks = Ticks()
    async with through_gateway(
        make_settings, ticks, ingest_events_per_s=100, ingest_events_burst=1000
    ) as client:
        full = await client.post("/v1/customer-events", json=batch(1000), headers=INGEST)
        assert full.status_code == 202, full.text
        assert full.json()["accepted"] == 1000

        # Two requests are far under the request limit (200), but the bucket of events is empty.
        refused = await client.post("/v1/customer-events", json=batch(1), headers=INGEST)
        body = assert_problem(refused, 429, detail_has="too many customer events")
        assert refused.headers["Retry-After"] == "1"
        assert body["retry_after"] == 1

        # Another key has its own bucket.
        other = auth("feedback:ingest", subject="storefront-2")
        assert (
            await client.post("/v1/customer-events", json=batch(10), headers=other)
        ).status_code == 202

        ticks.now += 5  # 500 events' worth
        too_many = await client.post("/v1/customer-events", json=batch(501), headers=INGEST)
        assert_problem(too_many, 429)
        assert too_many.headers["Retry-After"] == "1"
        fits = await client.post("/v1/customer-events", json=batch(500), headers=INGEST)
        assert fits.json()["accepted"] == 500


async def test_by_default_a_storefront_may_send_a_few_full_batches_at_once(
    make_settings: Callable[..., Settings],
) -> None:
    ticks = Ticks()  # no time passes: only the burst counts
    async with through_gateway(make_settings, ticks) as client:
        for _ in range(5):
            sent = await client.post("/v1/customer-events", json=batch(1000), headers=INGEST)
            assert sent.json()["accepted"] == 1000
        refused = await client.post("/v1/customer-events", json=batch(1), headers=INGEST)
        assert_problem(refused, 429)


@pytest.mark.parametrize(
    ("body", "cost"),
    [
        (orjson.dumps({"events": [{}] * 7}), 7),
        (b"{not json", 1),  # feedback answers 422: the request still costs an event
        (b'{"events": []}', 1),
        (b'{"events": {"a": 1}}', 1),
        (b"[1, 2, 3]", 1),
    ],
)
def test_a_batch_costs_its_events(body: bytes, cost: int) -> None:
    assert events_in(body) == cost


async def test_ingestion_pushes_back_while_the_triage_queue_is_over_its_bound(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(
        run_consumers=False, ingest_max_triage_backlog=3, ingest_backlog_check_s=0
    )
    app = create_feedback(settings, feedback=FAST, triage=no_model)
    async with running(app) as client:
        first = await client.post("/v1/customer-events", json=batch(4), headers=INGEST)
        assert first.json()["accepted"] == 4
        refused = await client.post("/v1/customer-events", json=batch(1), headers=INGEST)
        body = assert_problem(refused, 429, detail_has="triage backlog holds 4 events")
        assert refused.headers["Retry-After"] == "5"
        assert body["backlog"] == "triage"
        # Nothing of the refused batch was stored.
        stats = await client.get(
            "/v1/customer-events/stats", headers=auth("feedback:read", subject="ops")
        )
        assert stats.json()["total"] == 4


async def test_ingestion_pushes_back_while_the_outbox_is_over_its_bound(
    make_settings: Callable[..., Settings],
) -> None:
    # No broker answers (`make_settings`' default), so the relay keeps every event waiting.
    settings = make_settings(
        run_consumers=False, ingest_max_relay_backlog=2, ingest_backlog_check_s=0
    )
    app = create_feedback(settings, feedback=FAST, triage=no_model)
    async with running(app) as client:
        await known_product(app, "prod-1", "KT-1")
        purchases = batch(3, "purchase", product_id="prod-1")
        sales = auth("feedback:ingest feedback:ingest-sales", subject="storefront-1")
        assert (await client.post("/v1/customer-events", json=purchases, headers=sales)).json()[
            "accepted"
        ] == 3
        refused = await client.post("/v1/customer-events", json=batch(1), headers=sales)
        body = assert_problem(refused, 429, detail_has="relay backlog holds 3 events")
        assert body["backlog"] == "relay"
        assert refused.headers["Retry-After"] == "5"
