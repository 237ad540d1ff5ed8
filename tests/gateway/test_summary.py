"""`GET /v1/dashboard/summary` against the real catalog, feedback and pricing processes
(launch is not deployed yet, so its part is always `degraded`). The services are shared by
the gateway tests, so counts are checked as "at least what this module made"."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from shared.broker import EmbeddedBroker
from shared.settings import Settings
from tests.gateway.services import ServiceProcess
from tests.gateway.store import (
    SeededProduct,
    Services,
    poison_catalog_event,
    product_with_everything,
)
from tests.support import assert_problem, auth, eventually, running

SERVICES = ["catalog", "feedback", "pricing"]
READ_ALL = auth("catalog:read feedback:read pricing:read launch:read")


@pytest.fixture(scope="module")
async def kettle(real_services: dict[str, ServiceProcess]) -> SeededProduct:
    urls = {name: service.url for name, service in real_services.items()}
    return await product_with_everything(Services(urls))


@pytest.fixture
async def gateway(view_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(view_settings, services=SERVICES)) as http:
        yield http


async def summary(gateway: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await gateway.get("/v1/dashboard/summary", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_summary_counts_what_each_service_holds(
    gateway: httpx.AsyncClient, kettle: SeededProduct
) -> None:
    found = await summary(gateway, READ_ALL)

    products = found["products"]
    assert products["by_lifecycle"]["draft"] >= 1
    assert products["total"] == sum(products["by_lifecycle"].values())
    assert found["findings"]["critical_open"] >= 1
    assert found["findings"]["overdue_escalations"] >= 0
    assert found["prices"]["waiting_for_approval"] >= 1
    ingestion = found["ingestion"]
    assert len(ingestion["per_minute"]) == 15
    assert ingestion["total"] >= 1  # the critical review, stored moments ago
    for name in SERVICES:
        ops = found["services"][name]
        assert ops["status"] == "ready"
        assert isinstance(ops["outbox_backlog"], int)
    assert found["services"]["pricing"]["consumer_lag"] >= 0
    assert set(found["services"]) == set(SERVICES)
    # The launch service is not deployed here: its part is missing, and said to be.
    assert found["launches"] is None
    assert found["degraded"] == ["launch"]
    assert found["forbidden"] == []


async def test_dead_letters_are_counted_per_consumer_group(
    gateway: httpx.AsyncClient, broker: EmbeddedBroker, kettle: SeededProduct
) -> None:
    before = await summary(gateway, READ_ALL)
    open_before = before["services"]["pricing"]["dead_letters"].get("pricing", {}).get("open", 0)

    await poison_catalog_event(broker.bootstrap)

    async def counted() -> bool:
        found = await summary(gateway, READ_ALL)
        letters = found["services"]["pricing"]["dead_letters"]
        return bool(letters.get("pricing", {}).get("open", 0) == open_before + 1)

    await eventually(counted, timeout_s=30)


async def test_parts_the_caller_may_not_read_are_null_and_named_forbidden(
    gateway: httpx.AsyncClient, kettle: SeededProduct
) -> None:
    found = await summary(gateway, auth("catalog:read"))

    assert found["products"]["total"] >= 1
    assert found["findings"] is None
    assert found["ingestion"] is None
    assert found["prices"] is None
    assert found["launches"] is None
    assert found["forbidden"] == ["feedback", "launch", "pricing"]
    # Delivery state is what each service's /readyz tells any caller with a token.
    assert set(found["services"]) == set(SERVICES)
    assert found["degraded"] == []


async def test_a_hung_service_leaves_its_parts_null_and_is_named_degraded(
    gateway: httpx.AsyncClient, kettle: SeededProduct, real_services: dict[str, ServiceProcess]
) -> None:
    with real_services["feedback"].frozen():
        found = await summary(gateway, READ_ALL)

    assert found["degraded"] == ["feedback", "launch"]
    assert found["findings"] is None
    assert found["ingestion"] is None
    assert found["services"]["feedback"] is None
    assert found["products"]["total"] >= 1
    assert found["prices"]["waiting_for_approval"] >= 1


async def test_the_summary_needs_a_token(gateway: httpx.AsyncClient) -> None:
    assert_problem(await gateway.get("/v1/dashboard/summary"), 401)
    expired = {"Authorization": "Bearer not-a-token"}
    assert_problem(await gateway.get("/v1/dashboard/summary", headers=expired), 401)
