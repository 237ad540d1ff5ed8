"""`GET /v1/products/{id}/overview` against the real catalog, feedback, launch and pricing
processes."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from shared.settings import Settings
from tests.gateway.services import ServiceProcess
from tests.gateway.store import (
    SeededProduct,
    Services,
    blocked_launch,
    product_with_everything,
)
from tests.gateway.upstream import refusing_port
from tests.support import assert_problem, auth, running

SERVICES = ["catalog", "feedback", "launch", "pricing"]
READ_ALL = auth("catalog:read feedback:read pricing:read launch:read")


@pytest.fixture(scope="module")
async def services(real_services: dict[str, ServiceProcess]) -> Services:
    return Services({name: service.url for name, service in real_services.items()})


@pytest.fixture(scope="module")
async def kettle(services: Services) -> SeededProduct:
    return await product_with_everything(services)


@pytest.fixture(scope="module")
async def plan(services: Services, kettle: SeededProduct) -> dict[str, Any]:
    """The kettle's launch plan, blocked by its critical finding."""
    return await blocked_launch(services, kettle)


@pytest.fixture
async def gateway(view_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(view_settings, services=SERVICES)) as http:
        yield http


def overview_of(product_id: str) -> str:
    return f"/v1/products/{product_id}/overview"


async def test_the_overview_composes_every_service(
    gateway: httpx.AsyncClient, kettle: SeededProduct, plan: dict[str, Any]
) -> None:
    response = await gateway.get(overview_of(kettle.id), headers=READ_ALL)

    assert response.status_code == 200, response.text
    view = response.json()
    assert view["product"]["id"] == kettle.id
    assert view["product"]["sku"] == kettle.sku
    assert [(p["price_list"], p["price_id"], p["amount"]) for p in view["prices"]] == [
        (kettle.price_list, kettle.approved_price_id, "29.99")
    ]
    assert [p["id"] for p in view["pending_prices"]] == [kettle.pending_price_id]
    feedback = view["feedback"]
    assert feedback["product_id"] == kettle.id
    assert feedback["critical_open"] == 1
    assert feedback["open_findings"] == 1
    assert feedback["by_category"]["defect"] == 1
    assert feedback["sentiment"] < 0
    assert [r["id"] for r in view["requirements"]] == [kettle.requirement_id]
    assert view["degraded"] == []
    assert view["forbidden"] == []


async def test_the_overview_shows_each_launch_plan_with_why_it_is_blocked(
    gateway: httpx.AsyncClient, kettle: SeededProduct, plan: dict[str, Any]
) -> None:
    response = await gateway.get(overview_of(kettle.id), headers=READ_ALL)

    assert response.status_code == 200, response.text
    (shown,) = response.json()["launch"]["plans"]
    assert (shown["id"], shown["product_id"], shown["price_list"]) == (
        plan["id"],
        kettle.id,
        kettle.price_list,
    )
    assert shown["readiness"] == "blocked"
    (gate,) = [g for g in shown["gates"] if g["name"] == "no_critical_defects"]
    assert gate["status"] == "fail"
    (reason,) = gate["reasons"]
    assert reason["code"] == "critical_finding"
    assert reason["data"]["severity"] == "critical"


async def test_parts_the_caller_may_not_read_are_null_and_named_forbidden(
    gateway: httpx.AsyncClient, kettle: SeededProduct
) -> None:
    response = await gateway.get(overview_of(kettle.id), headers=auth("catalog:read"))

    assert response.status_code == 200, response.text
    view = response.json()
    assert view["product"]["id"] == kettle.id
    assert [r["id"] for r in view["requirements"]] == [kettle.requirement_id]
    assert view["prices"] is None
    assert view["pending_prices"] is None
    assert view["feedback"] is None
    assert view["launch"] is None
    assert view["forbidden"] == ["feedback", "launch", "pricing"]
    assert view["degraded"] == []


async def test_without_catalog_read_the_product_is_forbidden_not_the_whole_view(
    gateway: httpx.AsyncClient, kettle: SeededProduct
) -> None:
    response = await gateway.get(overview_of(kettle.id), headers=auth("feedback:read"))

    assert response.status_code == 200, response.text
    view = response.json()
    assert view["product"] is None
    assert view["requirements"] is None
    assert view["feedback"]["critical_open"] == 1
    assert view["forbidden"] == ["catalog", "launch", "pricing"]


async def test_without_launch_read_the_launch_part_is_forbidden(
    gateway: httpx.AsyncClient, kettle: SeededProduct, plan: dict[str, Any]
) -> None:
    headers = auth("catalog:read feedback:read pricing:read")
    response = await gateway.get(overview_of(kettle.id), headers=headers)

    assert response.status_code == 200, response.text
    view = response.json()
    assert view["launch"] is None
    assert view["forbidden"] == ["launch"]
    assert view["degraded"] == []


@pytest.mark.parametrize("hung", ["launch", "pricing"])
async def test_a_hung_service_is_named_degraded_and_the_rest_still_comes(
    gateway: httpx.AsyncClient,
    kettle: SeededProduct,
    plan: dict[str, Any],
    real_services: dict[str, ServiceProcess],
    hung: str,
) -> None:
    with real_services[hung].frozen():
        response = await gateway.get(overview_of(kettle.id), headers=READ_ALL)

    assert response.status_code == 200, response.text
    view = response.json()
    assert view["degraded"] == [hung]
    parts = {"launch": ["launch"], "pricing": ["prices", "pending_prices"]}
    assert all(view[part] is None for part in parts[hung])
    assert all(view[part] is not None for other in parts if other != hung for part in parts[other])
    assert view["product"]["id"] == kettle.id
    assert view["feedback"]["critical_open"] == 1


async def test_a_hung_catalog_is_a_504_problem(
    gateway: httpx.AsyncClient, kettle: SeededProduct, real_services: dict[str, ServiceProcess]
) -> None:
    with real_services["catalog"].frozen():
        response = await gateway.get(overview_of(kettle.id), headers=READ_ALL)

    body = assert_problem(response, 504, detail_has="catalog")
    assert body["service"] == "catalog"


async def test_a_catalog_that_is_down_is_a_502_problem(
    make_settings: Callable[..., Settings], real_services: dict[str, ServiceProcess]
) -> None:
    async with refusing_port() as dead:
        settings = make_settings(
            catalog_port=dead,
            feedback_port=real_services["feedback"].port,
            launch_port=real_services["launch"].port,
            pricing_port=real_services["pricing"].port,
        )
        async with running(create_app(settings, services=SERVICES)) as gateway:
            response = await gateway.get(overview_of("any-product"), headers=READ_ALL)

    body = assert_problem(response, 502, detail_has="catalog")
    assert body["service"] == "catalog"


async def test_an_unknown_product_is_the_catalogs_404(
    gateway: httpx.AsyncClient, kettle: SeededProduct, caplog: pytest.LogCaptureFixture
) -> None:
    response = await gateway.get(overview_of("no-such-product"), headers=READ_ALL)

    assert_problem(response, 404, detail_has="no-such-product")
    # The other parts, cancelled, leave nothing behind: before, each such 404 logged an
    # error ("_GatheringFuture exception was never retrieved") once collected, which takes
    # the cancelled parts a few turns of the loop to finish.
    for _ in range(3):
        gc.collect()
        await asyncio.sleep(0.05)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize(
    ("product_id", "where"),
    [("x" * 65, "product_id"), ("..hidden", "product_id"), ("a%20b", "product_id")],
)
async def test_a_malformed_product_id_is_a_422_problem(
    gateway: httpx.AsyncClient, product_id: str, where: str
) -> None:
    response = await gateway.get(overview_of(product_id), headers=READ_ALL)

    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"] == ["path", where]


async def test_the_overview_needs_a_token(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get(overview_of("any-product"))

    assert_problem(response, 401)
