"""`productops demo` against a real stack (issue 11): `productops up` as processes, the demo
loaded through the gateway with the stack's admin key, then read back through the gateway
as a newcomer would see it: about fifty products, a critical finding and a defect cluster
after triage, proposals waiting, launches in every readiness and status. A second run makes
nothing twice, and the simulator's events reach the ingestion figures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from gateway.demo import store
from tests.flows.stack import RunningStack, productops_up
from tests.support import eventually

pytestmark = pytest.mark.stack

# Triage's first batch waits for its model to load; later ones come within seconds.
TRIAGE_S = 90
# A 429 names its wait (Retry-After, about a second); a read waits at most this many times.
RATE_LIMITED_TRIES = 10


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with productops_up(tmp_path_factory.mktemp("demo")) as running:
        yield running


@pytest.fixture
async def gateway(stack: RunningStack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.gateway, timeout=15, trust_env=False) as http:
        answer = await http.post("/v1/auth/token", json={"api_key": stack.admin_key})
        assert answer.status_code == 200, answer.text
        http.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        yield http


async def get(http: httpx.AsyncClient, path: str, **params: Any) -> Any:
    # The test reads the store as fast as a loop can, past the gateway's per-caller rate
    # (PRODUCTOPS_RATE_LIMIT_PER_S); like the demo's own client, it waits as a 429 says.
    for _ in range(RATE_LIMITED_TRIES):
        answer = await http.get(path, params=params)
        if answer.status_code != 429:
            break
        await asyncio.sleep(float(answer.headers.get("Retry-After", "1")))
    assert answer.status_code == 200, f"{path}: {answer.text}"
    return answer.json()


async def everything(http: httpx.AsyncClient, path: str, **params: Any) -> list[Any]:
    items: list[Any] = []
    cursor = None
    while True:
        page = await get(http, path, limit=200, **params, **({"cursor": cursor} if cursor else {}))
        items += page["items"]
        if (cursor := page["next_cursor"]) is None:
            return items


async def what_the_store_holds(http: httpx.AsyncClient) -> dict[str, Any]:
    """The counts a second run must leave as they are."""
    products = await everything(http, "/v1/catalog/products")
    variants = [
        v["sku"]
        for p in products
        for v in await everything(http, f"/v1/catalog/products/{p['id']}/variants")
    ]
    return {
        "products": sorted(p["sku"] for p in products),
        "variants": sorted(variants),
        "prices": sorted(p["id"] for p in await everything(http, "/v1/pricing/prices")),
        "launches": sorted(p["id"] for p in await everything(http, "/v1/launch/launches")),
        "api keys": len(await everything(http, "/v1/api-keys")),
        "questionnaires": len(await everything(http, "/v1/catalog/questionnaires")),
    }


async def test_the_demo_loads_a_living_store_once(
    stack: RunningStack, gateway: httpx.AsyncClient
) -> None:
    out = stack.productops("demo", "--gateway", stack.gateway, "--api-key", stack.admin_key)
    assert f"Dashboard: {stack.gateway}/dashboard" in out
    assert "products             52  (52 new)" in out

    stats = await get(gateway, "/v1/catalog/products/stats")
    assert stats["total"] >= 50
    assert stats["by_lifecycle"]["active"] >= 30

    # Proposals wait for an approver who is not their proposer: the analyst's own key.
    waiting = await everything(gateway, "/v1/pricing/prices", status="proposed")
    assert len(waiting) >= 5
    assert {p["proposed_by"]["name"] for p in waiting} == {"demo pricing analyst"}
    assert (await get(gateway, "/v1/pricing/prices/stats"))["waiting_for_approval"] == len(waiting)

    launches = await everything(gateway, "/v1/launch/launches")
    assert {p["status"] for p in launches} == {"planned", "approved", "launched", "cancelled"}
    planned = [p for p in launches if p["status"] == "planned"]
    assert {p["readiness"] for p in planned} == {"ready", "blocked", "pending"}
    assert any(p["waivers"] for p in planned if p["readiness"] == "ready")

    # Triage turns the storefront's reviews into one critical finding, which blocks the
    # hazardous kettle's launch, and a cluster of one defect on the leaking blender.
    products = {p["sku"]: p["id"] for p in await everything(gateway, "/v1/catalog/products")}

    async def triaged() -> bool:
        critical = await everything(gateway, "/v1/feedback/findings", severity="critical")
        defects = await everything(
            gateway, "/v1/feedback/findings", product_id=products[store.CLUSTER_SKU], kind="defect"
        )
        return [f["product_id"] for f in critical] == [products[store.HAZARD_SKU]] and any(
            f["item_count"] >= 3 for f in defects
        )

    await eventually(triaged, timeout_s=TRIAGE_S)

    async def hazard_blocks() -> bool:
        [plan] = await everything(
            gateway, "/v1/launch/launches", product_id=products[store.HAZARD_SKU]
        )
        return "no_critical_defects" in plan["blocking"]

    await eventually(hazard_blocks, timeout_s=TRIAGE_S)
    assert await everything(gateway, "/v1/feedback/search-misses")

    # A second run finds everything and makes nothing twice.
    before = await what_the_store_holds(gateway)
    again = stack.productops("demo", "--api-key", stack.admin_key)
    assert "products             52  (0 new)" in again
    assert "customer events      87  (0 new)" in again
    assert await what_the_store_holds(gateway) == before

    # The simulator's events reach the ingestion figures.
    total = (await get(gateway, "/v1/feedback/customer-events/stats", minutes=15))["total"]
    sim = stack.productops("demo", "--no-load", "--simulate", "--rate", "5", "--duration", "4")
    assert "in all" in sim

    async def ingested() -> bool:
        stats = await get(gateway, "/v1/feedback/customer-events/stats", minutes=15)
        return bool(stats["total"] >= total + 15)

    await eventually(ingested, timeout_s=30)
