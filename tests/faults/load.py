"""The load driver: products, prices and customer events through the gateway, with known ids.

It records what the platform ACCEPTED (a 2xx answer), which is what the ledger later
expects every consumer to have applied. A request the fault makes fail (a 5xx, a dropped
connection) is sent again as a client would, with the same idempotency key or event ids,
until it gets an answer: so nothing it sent is left in doubt.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.faults.stack import ADMIN_KEY

PRODUCT_TYPE = "kettle"
PRICE_LIST = "web-eur"
# Search misses name no product: one catalog requirement per query, whose count must end
# equal to the misses accepted.
QUERIES = ("titanium travel kettle", "kettle with temperature display", "cordless milk frother")
DEFECTS = (
    "The lid cracked after a week and now it leaks everywhere",
    "Handle came loose and the kettle wobbles when pouring",
    "The cable melted near the base and smelled of burning",
    "Button stopped working, it no longer switches on",
)
PRAISE = ("Love it, boils fast and looks great", "Great kettle, quiet and quick")
BATCH = 50
_RETRY_FOR_S = 90.0


class LoadError(AssertionError):
    """The platform answered a request of the driver in a way no fault explains."""


@dataclass
class Product:
    """A product as the catalog confirmed it."""

    id: str
    sku: str
    version: int
    # Versions whose event can never be published (too large): no consumer can apply them.
    unsendable: set[int] = field(default_factory=set)


@dataclass
class Accepted:
    """Everything the platform said yes to, by id."""

    products: dict[str, Product] = field(default_factory=dict)
    prices: set[str] = field(default_factory=set)
    # Customer events by client event id: purchases (product, quantity), texts to triage.
    purchases: dict[str, tuple[str, int]] = field(default_factory=dict)
    reviews: dict[str, str] = field(default_factory=dict)
    search_misses: Counter[str] = field(default_factory=Counter)

    @property
    def customer_events(self) -> int:
        return len(self.purchases) + len(self.reviews) + sum(self.search_misses.values())

    @property
    def catalog_events(self) -> int:
        """Product events every consumer of `catalog.events` must apply (one per version)."""
        return sum(p.version - len(p.unsendable) for p in self.products.values())

    @property
    def total(self) -> int:
        return self.catalog_events + len(self.prices) + self.customer_events


class LoadDriver:
    """Drives the gateway as an admin (and a second person approving prices)."""

    def __init__(self, gateway_url: str) -> None:
        self.http = httpx.AsyncClient(base_url=gateway_url, timeout=15.0, trust_env=False)
        self.accepted = Accepted()
        self.retried = 0
        self.rounds_done = 0
        self.token = ""
        self._headers: dict[str, str] = {}
        self._approver: dict[str, str] = {}
        self._serial = 0
        self._task: asyncio.Task[None] | None = None

    async def close(self) -> None:
        await self.http.aclose()

    # --- requests that survive faults ----------------------------------------------------

    async def _send(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """The first answer that is not a fault's: no 5xx, no dropped connection, no 429."""
        deadline = time.monotonic() + _RETRY_FOR_S
        while True:
            try:
                response = await self.http.request(
                    method, path, headers=headers or self._headers, **kwargs
                )
                if response.status_code < 500 and response.status_code != 429:
                    return response
                why = f"{response.status_code} {response.text[:200]}"
            except httpx.TransportError as exc:
                why = repr(exc)
            self.retried += 1
            if time.monotonic() > deadline:
                raise LoadError(f"{method} {path} kept failing for {_RETRY_FOR_S}s: {why}")
            await asyncio.sleep(0.5)

    async def _expect(self, status: int, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = await self._send(method, path, **kwargs)
        if response.status_code != status:
            raise LoadError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json()

    async def _create(self, path: str, body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """POST a create with an Idempotency-Key: a retry replays the first answer."""
        headers = self._headers | {"Idempotency-Key": uuid.uuid4().hex}
        deadline = time.monotonic() + _RETRY_FOR_S
        while True:
            response = await self._send("POST", path, json=body, headers=headers, **kwargs)
            # 409 "already being processed": the first attempt is still in flight.
            if response.status_code != 409 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        if response.status_code not in (200, 201):
            raise LoadError(f"POST {path}: {response.status_code} {response.text[:500]}")
        return response.json()

    # --- set-up --------------------------------------------------------------------------

    async def login(self) -> None:
        """An admin token, and a second key's token for four-eyes approvals."""
        token = await self._expect(200, "POST", "/v1/auth/token", json={"api_key": ADMIN_KEY})
        self.token = token["access_token"]
        self._headers = {"Authorization": f"Bearer {self.token}"}
        key = await self._create(
            "/v1/api-keys",
            # Another person than the admin who proposes: four-eyes compares owners.
            {
                "name": "approver",
                "owner": "approver",
                "scopes": ["pricing:read", "pricing:approve"],
            },
        )
        approver = await self._expect(
            200, "POST", "/v1/auth/token", json={"api_key": key["api_key"]}
        )
        self._approver = {"Authorization": f"Bearer {approver['access_token']}"}

    async def seed(self, products: int = 6) -> list[Product]:
        """A product type, a price list and `products` products, each priced once."""
        await self._create(
            "/v1/catalog/product-types",
            {"code": PRODUCT_TYPE, "name": "Electric kettle", "required_attributes": ["wattage"]},
        )
        await self._create(
            "/v1/pricing/price-lists", {"code": PRICE_LIST, "currency": "EUR", "channel": "web"}
        )
        made = [await self.create_product() for _ in range(products)]
        for product in made:
            await self.price(product, wait_for_pricing=True)
        return made

    # --- the load ------------------------------------------------------------------------

    async def create_product(self, **extra: Any) -> Product:
        self._serial += 1
        sku = f"KT-{self._serial:04d}-{uuid.uuid4().hex[:6]}"
        body = {
            "sku": sku,
            "name": f"Kettle {self._serial}",
            "product_type": PRODUCT_TYPE,
            "brand": "Acme",
            "attributes": {"wattage": 2200, **extra},
            "cost": {"amount": "10.00", "currency": "EUR"},
        }
        made = await self._create("/v1/catalog/products", body)
        product = Product(id=made["id"], sku=sku, version=made["version"])
        self.accepted.products[product.id] = product
        return product

    async def update_product(self, product: Product, **extra: Any) -> httpx.Response:
        """Change the name and the cost (so every version leaves a trace in pricing's cost
        history), and the attributes in `extra`; returns the answer (e.g. a 413 for a too
        large `extra`)."""
        version = product.version + 1
        body: dict[str, Any] = {
            "name": f"Kettle {product.sku} mk{version}",
            "cost": {"amount": f"{10 + version}.00", "currency": "EUR"},
        }
        if extra:
            body["attributes"] = extra
        path = f"/v1/catalog/products/{product.id}"
        headers = self._headers | {"If-Match": str(product.version)}
        response = await self._send("PATCH", path, json=body, headers=headers)
        if response.status_code == 412:
            # An earlier attempt was applied but its answer lost: the product shows it.
            current = await self._expect(200, "GET", path)
            if current["version"] != version or current["name"] != body["name"]:
                raise LoadError(f"PATCH {path}: 412 and not applied: {current}")
            product.version = version
            return httpx.Response(200, json=current)
        if response.status_code == 200:
            product.version = response.json()["version"]
            assert product.version == version, response.text
        return response

    async def price(self, product: Product, *, wait_for_pricing: bool = False) -> None:
        """Propose a base price and approve it as the second person."""
        amount = f"{19 + len(self.accepted.prices) % 7}.99"
        body = {"product_id": product.id, "price_list": PRICE_LIST, "amount": amount}
        deadline = time.monotonic() + _RETRY_FOR_S
        while True:
            response = await self._send(
                "POST",
                "/v1/pricing/prices",
                json=body,
                headers=self._headers | {"Idempotency-Key": uuid.uuid4().hex},
            )
            # Pricing learns products from the catalog's events: it may not know it yet.
            unknown = response.status_code == 422 and "has not heard of it" in response.text
            if not (unknown and wait_for_pricing) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        if response.status_code != 201:
            raise LoadError(f"POST /v1/pricing/prices: {response.status_code} {response.text}")
        price_id = response.json()["id"]
        path = f"/v1/pricing/prices/{price_id}/approve"
        approved = await self._send("POST", path, json={}, headers=self._approver)
        if approved.status_code == 409:
            # An earlier attempt was applied but its answer lost.
            state = await self._expect(200, "GET", f"/v1/pricing/prices/{price_id}")
            assert state["status"] in ("approved", "published"), state
        elif approved.status_code != 200:
            raise LoadError(f"POST {path}: {approved.status_code} {approved.text}")
        self.accepted.prices.add(price_id)

    async def ingest(self, products: list[Product], *, by_sku: Product | None = None) -> None:
        """One batch of customer events: purchases, reviews (defects and praise), search
        misses; with `by_sku`, a few purchases naming that product by its sku only."""
        serial = self.rounds_done
        at = (datetime.now(UTC) - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
        events: list[dict[str, Any]] = []
        purchases: dict[str, tuple[str, int]] = {}
        reviews: dict[str, str] = {}
        misses: Counter[str] = Counter()
        for n in range(BATCH):
            event_id = f"ce-{uuid.uuid4().hex}"
            product = products[n % len(products)]
            base = {"event_id": event_id, "occurred_at": at, "customer_ref": f"cust-{n % 17}"}
            named = {"product_id": product.id, "sku": product.sku}
            if n % 25 < 12:
                quantity = 1 + n % 3
                unit_price = {"amount": "19.99", "currency": "EUR"}
                if by_sku is not None and n % 25 < 3:
                    product, named = by_sku, {"sku": by_sku.sku}
                events.append(
                    base
                    | named
                    | {"kind": "purchase", "quantity": quantity, "unit_price": unit_price}
                )
                purchases[event_id] = (product.id, quantity)
            elif n % 25 < 19:
                defect = n % 5 != 0
                text = (DEFECTS if defect else PRAISE)[n % (4 if defect else 2)]
                events.append(
                    base
                    | named
                    | {"kind": "review", "rating": 1 if defect else 5, "text": f"{text} ({serial})"}
                )
                reviews[event_id] = product.id
            else:
                query = QUERIES[n % len(QUERIES)]
                events.append(base | {"kind": "search_miss", "query": query})
                misses[query] += 1
        body = await self._expect(202, "POST", "/v1/customer-events", json={"events": events})
        if body["rejected"] or body["accepted"] + body["duplicates"] != len(events):
            raise LoadError(f"a batch of good events was not taken whole: {body}")
        self.accepted.purchases |= purchases
        self.accepted.reviews |= reviews
        self.accepted.search_misses += misses

    def start(self, products: list[Product], **options: Any) -> None:
        """Run the load (`run`) in the background."""
        self._task = asyncio.create_task(self.run(products, **options), name="load")

    async def reached(self, rounds: int, timeout_s: float = 120.0) -> None:
        """Wait until the background load has done `rounds` rounds."""
        assert self._task is not None
        deadline = time.monotonic() + timeout_s
        while self.rounds_done < rounds:
            if self._task.done():
                self._task.result()
                raise LoadError(f"the load ended after {self.rounds_done} rounds")
            if time.monotonic() > deadline:
                raise LoadError(f"round {rounds} not reached within {timeout_s}s")
            await asyncio.sleep(0.1)

    async def finish(self) -> None:
        """Wait for the background load to end (its error, if any, is raised here)."""
        assert self._task is not None
        await self._task

    async def run(
        self,
        products: list[Product],
        *,
        rounds: int,
        pause_s: float = 0.5,
        late_product_at: int | None = None,
        back_office: bool = True,
    ) -> None:
        """`rounds` rounds of load from two clients at once, as in life: a storefront
        pushing a batch of customer events a round, and (unless `back_office` is false)
        product managers updating two products and pricing one. From round
        `late_product_at` on, a new product takes part, its first purchases naming it by sku
        only (they wait in feedback until the catalog's event names it)."""
        streams = [self._storefront(products, rounds, pause_s, late_product_at)]
        if back_office:
            streams.append(self._back_office(products, rounds, pause_s))
        await asyncio.gather(*streams)

    async def _storefront(
        self, products: list[Product], rounds: int, pause_s: float, late_product_at: int | None
    ) -> None:
        late: Product | None = None
        for n in range(rounds):
            if n == late_product_at:
                late = await self.create_product()
            await self.ingest(products, by_sku=late)
            self.rounds_done += 1
            await asyncio.sleep(pause_s)

    async def _back_office(self, products: list[Product], rounds: int, pause_s: float) -> None:
        for n in range(rounds):
            for product in (products[n % len(products)], products[(n + 3) % len(products)]):
                response = await self.update_product(product)
                if response.status_code != 200:
                    raise LoadError(f"update: {response.status_code} {response.text[:300]}")
            await self.price(products[n % len(products)])
            await asyncio.sleep(pause_s)
