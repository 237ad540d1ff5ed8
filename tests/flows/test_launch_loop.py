"""The launch loop across real processes (issue 10, quality bar; DESIGN.md loops 1-5).

`productops up` runs the broker, catalog, feedback, pricing, launch and the gateway; the test
only speaks HTTP to the gateway, as a PM, a second approver and a storefront would. A critical
review blocks the launch and resolving its finding unblocks it, an approved price passes
`price_approved`, approval launches, the catalog activates the product and the storefront
sells it at the approved price; a discontinued product's plan is cancelled. Every event
delivered again, and the catalog's snapshots republished, change nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
import pytest

from tests.flows.stack import RunningStack, productops_up, redeliver
from tests.support import caught_up, eventually

pytestmark = pytest.mark.stack

PRICE_LIST = "eu-web"
APPROVED_AMOUNT = "49.90"
# A five-star review that reports a burn: triage marks it a critical safety defect.
BURN = "The lid burned my child's hand when I poured the water"
DOC = {"title": "CE declaration", "ref": "DMS-4711"}
GOALS = {"units": 500, "revenue": {"amount": "25000.00", "currency": "EUR"}, "margin_pct": "32.5"}
# Whose events each service consumes (launch: the facts; catalog: the launches).
CONSUMED = {
    "launch": ["catalog.events", "pricing.events", "feedback.events"],
    "catalog": ["launch.events"],
}
# Waits cover a process's first event after start-up (consumer group join, model load).
WAIT_S = 60


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with productops_up(tmp_path_factory.mktemp("launch-loop")) as running:
        yield running


class Gateway:
    """An HTTP client of the gateway with one person's token; every call checks its status."""

    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}"}

    async def call(
        self,
        method: str,
        path: str,
        *,
        expect: int = 200,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        response = await self.http.request(
            method, path, headers={**self.headers, **(headers or {})}, **kwargs
        )
        assert response.status_code == expect, f"{method} {path}: {response.text}"
        return response

    async def get(self, path: str, **params: Any) -> Any:
        return (await self.call("GET", path, params=params)).json()

    async def post(self, path: str, body: Any, *, expect: int = 200, **kwargs: Any) -> Any:
        return (await self.call("POST", path, json=body, expect=expect, **kwargs)).json()


async def token(http: httpx.AsyncClient, api_key: str) -> str:
    response = await http.post("/v1/auth/token", json={"api_key": api_key})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


async def person(admin: Gateway, name: str, scopes: list[str]) -> Gateway:
    """A key of an owner of its own (four eyes compares owners), logged in."""
    created = await admin.post(
        "/v1/api-keys", {"name": name, "owner": name, "scopes": scopes}, expect=201
    )
    return Gateway(admin.http, await token(admin.http, created["api_key"]))


@pytest.fixture(scope="module")
async def http(stack: RunningStack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.gateway, timeout=15, trust_env=False) as client:
        yield client


def gate(launch: dict[str, Any], name: str) -> dict[str, Any]:
    return next(g for g in launch["gates"] if g["name"] == name)


async def complete_product(pm: Gateway, sku: str) -> dict[str, Any]:
    return await pm.post(
        "/v1/catalog/products",
        {
            "sku": sku,
            "name": f"Kettle {sku}",
            "product_type": "kettle",
            "brand": "Boilwell",
            "description": "A 1.7 l steel kettle",
            "attributes": {"capacity_l": 1.7, "wattage": 2200},
            "cost": {"amount": "18.00", "currency": "EUR"},
        },
        expect=201,
    )


async def plan(pm: Gateway, product_id: str, target: str) -> dict[str, Any]:
    """Plan the product's launch once launch has heard of the product (422 until then)."""
    body = {"product_id": product_id, "target_date": target, "price_list": PRICE_LIST}
    made: dict[str, Any] = {}

    async def planned() -> bool:
        response = await pm.http.post("/v1/launch/launches", json=body, headers=pm.headers)
        assert response.status_code in (201, 422), response.text
        made.update(response.json())
        return response.status_code == 201

    await eventually(planned, timeout_s=WAIT_S)
    return made


async def until_launch(
    pm: Gateway,
    launch_id: str,
    holds: Callable[[dict[str, Any]], bool],
    *,
    timeout_s: float = WAIT_S,
) -> dict[str, Any]:
    """The plan, once `holds(plan)` is true."""
    seen: dict[str, Any] = {}

    async def check() -> bool:
        seen.update(await pm.get(f"/v1/launch/launches/{launch_id}"))
        return bool(holds(seen))

    await eventually(check, timeout_s=timeout_s)
    return seen


async def history(pm: Gateway, path: str) -> list[dict[str, Any]]:
    """Every entry of a history list (they fit one page of 200 here)."""
    page = await pm.get(path, limit=200)
    assert page["next_cursor"] is None
    return page["items"]


async def test_the_launch_loop_through_the_gateway(
    stack: RunningStack, http: httpx.AsyncClient
) -> None:
    pm = Gateway(http, await token(http, stack.admin_key))
    boss = await person(
        pm, "boss", ["launch:read", "launch:write", "launch:approve", "pricing:approve"]
    )
    storefront = await person(pm, "storefront", ["feedback:ingest"])
    today = datetime.now(UTC).date()

    await pm.post(
        "/v1/catalog/product-types",
        {"code": "kettle", "name": "Kettle", "required_attributes": ["capacity_l", "wattage"]},
        expect=201,
    )
    kettle = await complete_product(pm, "KT-LOOP-1")
    assert kettle["completeness"]["score"] == 100
    await pm.post(
        "/v1/pricing/price-lists",
        {"code": PRICE_LIST, "currency": "EUR", "channel": "web"},
        expect=201,
    )

    # Planned a month ahead: complete, but no approved price and no sign-offs yet.
    launch = await plan(pm, kettle["id"], (today + timedelta(days=30)).isoformat())
    launch_id = launch["id"]
    assert (launch["status"], launch["readiness"]) == ("planned", "blocked")
    assert gate(launch, "catalog_complete")["status"] == "pass"
    no_price = gate(launch, "price_approved")
    assert (no_price["status"], no_price["reasons"][0]["code"]) == ("fail", "no_price")
    assert no_price["reasons"][0]["ref"] == PRICE_LIST
    assert gate(launch, "regulatory_compliance")["reasons"][0]["code"] == "signoff_missing"

    # Loop 2: a critical review ingested at the gateway blocks the launch ...
    review = {
        "event_id": "review-burn-1",
        "kind": "review",
        "occurred_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        "product_id": kettle["id"],
        "customer_ref": "cust-1",
        "rating": 5,
        "text": BURN,
    }
    accepted = await storefront.post("/v1/customer-events", {"events": [review]}, expect=202)
    assert accepted["accepted"] == 1
    blocked = await until_launch(
        pm, launch_id, lambda p: gate(p, "no_critical_defects")["status"] == "fail"
    )
    findings = await pm.get("/v1/feedback/findings", product_id=kettle["id"])
    [finding] = findings["items"]
    assert (finding["severity"], finding["status"]) == ("critical", "open")
    [reason] = gate(blocked, "no_critical_defects")["reasons"]
    assert (reason["code"], reason["ref"]) == ("critical_finding", finding["id"])
    assert reason["data"]["item_count"] == 1
    assert "no_critical_defects" in blocked["blocking"]

    # ... and resolving the finding passes the gate again.
    await pm.post(f"/v1/feedback/findings/{finding['id']}/status", {"status": "resolved"})
    await until_launch(pm, launch_id, lambda p: gate(p, "no_critical_defects")["status"] == "pass")

    # Loop 3: proposed by the PM, approved by another owner: price_approved passes. Valid from
    # the start of today, so it also covers a launch today.
    proposed = await pm.call(
        "POST",
        "/v1/pricing/prices",
        expect=201,
        json={
            "product_id": kettle["id"],
            "price_list": PRICE_LIST,
            "amount": APPROVED_AMOUNT,
            "valid_from": datetime.combine(today, time.min, UTC).isoformat(),
        },
    )
    price_id = proposed.json()["id"]
    await boss.post(
        f"/v1/pricing/prices/{price_id}/approve",
        {},
        headers={"If-Match": proposed.headers["ETag"]},
    )
    await until_launch(pm, launch_id, lambda p: gate(p, "price_approved")["status"] == "pass")

    # The manual gates: goals, sign-offs with evidence, a passed QA report, and a waiver of
    # the marketing plan by another owner.
    base = f"/v1/launch/launches/{launch_id}"
    await pm.call("PATCH", base, json={"goals": GOALS})
    for name in ("spec_improvements", "business_documents", "regulatory_compliance"):
        await pm.post(f"{base}/gates/{name}/signoff", {"evidence": "reviewed", "documents": [DOC]})
    report = {"kind": "qa", "result": "passed", "notes": "all green"}
    await pm.post(f"{base}/qa-reports", report, expect=201)
    waiver = {
        "gate": "marketing_plan",
        "reason": "the campaign starts after the soft launch",
        "expires_at": (datetime.now(UTC) + timedelta(days=60)).isoformat(),
    }
    ready = await boss.post(f"{base}/waivers", waiver, expect=201)
    assert (ready["readiness"], ready["blocking"]) == ("ready", [])

    # Moved to today (If-Match), then approved by the other owner: it launches at once.
    current = await pm.call("GET", base)
    await pm.call(
        "PATCH",
        base,
        json={"target_date": today.isoformat(), "reason": "stock arrived early"},
        headers={"If-Match": current.headers["ETag"]},
    )
    launched = await boss.post(f"{base}/approve", {})
    assert launched["status"] == "launched"

    # Loop 4: the catalog moves the draft through incoming to active ...
    product_path = f"/v1/catalog/products/{kettle['id']}"

    async def active() -> bool:
        return (await pm.get(product_path))["lifecycle"] == "active"

    await eventually(active, timeout_s=WAIT_S)
    moves = [
        (change["old"], change["new"])
        for change in await history(pm, f"{product_path}/history")
        if change["field"] == "lifecycle"
    ]
    assert moves == [("draft", "incoming"), ("incoming", "active")]
    # ... and the storefront sells it at the approved price of the plan's list.
    effective = await pm.get(f"/v1/pricing/products/{kettle['id']}/price", price_list=PRICE_LIST)
    assert (effective["price_id"], effective["amount"]) == (price_id, APPROVED_AMOUNT)

    # Loop 5: a discontinued product's planned launch is cancelled.
    urn = await complete_product(pm, "KT-LOOP-2")
    doomed = await plan(pm, urn["id"], (today + timedelta(days=20)).isoformat())
    await pm.post(f"/v1/catalog/products/{urn['id']}/lifecycle", {"to": "discontinued"})
    cancelled = await until_launch(pm, doomed["id"], lambda p: p["status"] == "cancelled")
    doomed_history = await history(pm, f"/v1/launch/launches/{doomed['id']}/history")
    assert "launch.cancelled.v1" in doomed_history[-1]["events"]
    assert doomed_history[-1]["changed_by"] is None

    # Every event delivered again, then the catalog's snapshots of what it holds: once each
    # consumer has committed past them, nothing changed anywhere.
    before = {
        "launched": await history(pm, f"{base}/history"),
        "cancelled": await history(pm, f"/v1/launch/launches/{doomed['id']}/history"),
        "product": await history(pm, f"{product_path}/history"),
        "launch outbox": stack.query("launch", "SELECT count(*) FROM outbox"),
    }
    topics = sorted({topic for group in CONSUMED.values() for topic in group})
    assert await redeliver(stack.bootstrap, topics) > 0
    assert "catalog: wrote 2 snapshot events" in stack.productops("republish", "catalog")

    async def consumed() -> bool:
        snapshots = stack.query(
            "launch", "SELECT count(*) FROM inbox WHERE type = 'catalog.product.snapshot.v1'"
        )
        if snapshots != [(2,)]:
            return False
        for group, consumed_topics in CONSUMED.items():
            if not await caught_up(stack.bootstrap, group, consumed_topics):
                return False
        return True

    await eventually(consumed, timeout_s=WAIT_S)
    after = {
        "launched": await history(pm, f"{base}/history"),
        "cancelled": await history(pm, f"/v1/launch/launches/{doomed['id']}/history"),
        "product": await history(pm, f"{product_path}/history"),
        "launch outbox": stack.query("launch", "SELECT count(*) FROM outbox"),
    }
    assert after == before
    assert (await pm.get(f"/v1/launch/launches/{doomed['id']}"))["version"] == cancelled["version"]
    assert (await pm.get(base))["status"] == "launched"
