"""`POST /v1/customer-events` on the gateway: forwarded to the feedback service's route."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import orjson
import pytest

from gateway.app import create_app
from shared.settings import Settings
from tests.support import assert_problem, auth, running

BATCH = {"events": [{"event_id": "e-1", "kind": "question", "text": "Is it safe?"}]}


@pytest.fixture
async def client(
    make_settings: Callable[..., Settings], upstream_port: int
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(feedback_port=upstream_port, upstream_timeout_s=0.5)
    async with running(create_app(settings, services=["feedback"])) as http:
        yield http


async def test_a_batch_reaches_the_feedback_service_as_sent(client: httpx.AsyncClient) -> None:
    body = orjson.dumps(BATCH)
    headers = {
        **auth("feedback:ingest"),
        "Content-Type": "application/json",
        "X-Request-ID": "batch-7",
    }
    response = await client.post("/v1/customer-events", content=body, headers=headers)

    assert response.status_code == 201, response.text  # the echo upstream's status, unchanged
    seen = response.json()
    assert seen["method"] == "POST"
    assert seen["raw_path"] == "/v1/customer-events"
    assert seen["body"] == body.decode()
    upstream = dict(seen["headers"])
    assert upstream["authorization"] == headers["Authorization"]
    assert upstream["x-request-id"] == "batch-7"


async def test_the_ingest_scope_is_needed(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post("/v1/customer-events", json=BATCH), 401)
    response = await client.post(
        "/v1/customer-events", json=BATCH, headers=auth("feedback:read feedback:write")
    )
    body = assert_problem(response, 403, detail_has="feedback:ingest")
    assert body["required_scope"] == "feedback:ingest"
    allowed = await client.post("/v1/customer-events", json=BATCH, headers=auth("admin"))
    assert allowed.status_code == 201


async def test_a_feedback_service_that_is_down_is_a_502(
    make_settings: Callable[..., Settings], dead_port: int
) -> None:
    settings = make_settings(feedback_port=dead_port, upstream_timeout_s=0.5)
    async with running(create_app(settings, services=["feedback"])) as client:
        response = await client.post(
            "/v1/customer-events", json=BATCH, headers=auth("feedback:ingest")
        )
    assert_problem(response, 502, detail_has="feedback")


async def test_without_a_feedback_service_the_route_is_absent(
    make_settings: Callable[..., Settings], upstream_port: int
) -> None:
    settings = make_settings(catalog_port=upstream_port)
    async with running(create_app(settings, services=["catalog"])) as client:
        response = await client.post("/v1/customer-events", json=BATCH, headers=auth("admin"))
    assert_problem(response, 404)
