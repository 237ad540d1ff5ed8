"""The ledger: did every consumer apply every accepted id exactly once, in order, and is
nothing stuck?

What is read, per consumer (through the services' HTTP APIs and their own databases):
- catalog events (one per product version) in pricing and feedback: one inbox row each, the
  subject's applied version (`subject_position`) at the catalog's, and in pricing a cost
  history with exactly one entry per version, in version order (a stale or reordered event
  would leave a hole; a duplicate, a second entry);
- customer events in pricing: one inbox row each, every purchase once, units per product in
  `/v1/products/{id}/metrics`; in feedback's triage: one feedback item per review;
- search misses in the catalog: each query's requirement counts every accepted miss once;
- prices in pricing: each accepted price approved (or already published);
- nothing stuck: `/readyz` answers with outbox backlog 0, consumer lag 0, triage backlog 0;
  no dead letters and no parked events but the ones the scenario expects.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from sqlalchemy import text

from shared.broker import EmbeddedBroker
from shared.db import Database
from shared.events import dlq_topic
from tests.faults.load import Accepted

CUSTOMER_EVENTS = "storefront.customer-events"
CATALOG_EVENTS = "catalog.events"
# Which consumer groups read which topics (each group is named after its service).
CONSUMES = {
    "catalog": ("feedback.events",),
    "feedback": (CATALOG_EVENTS,),
    "pricing": (CATALOG_EVENTS, CUSTOMER_EVENTS),
}
_CONSUMED = re.compile(
    r'^productops_events_consumed_total\{(?=[^}]*outcome="(duplicate|stale)")[^}]*\}\s+(\S+)$',
    re.MULTILINE,
)


@dataclass(frozen=True, order=True)
class DeadLetter:
    """An event a consumer group set aside: where it was on its topic."""

    group: str
    topic: str
    partition: int
    offset: int


@dataclass
class Reading:
    """One look at every consumer: what is missing or wrong, and the figures."""

    problems: list[str] = field(default_factory=list)
    applied: Counter[str] = field(default_factory=Counter)
    expected: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    dead_letters: set[DeadLetter] = field(default_factory=set)
    parked: int = 0
    waiting: tuple[Any, ...] = ()

    @property
    def progress(self) -> tuple[Any, ...]:
        """What changes while the platform is still catching up."""
        return (tuple(sorted(self.applied.items())), self.waiting, len(self.problems))


@dataclass
class Outcome:
    """The settled ledger of one fault, with its figures."""

    fault: str
    accepted: Accepted
    reading: Reading
    # From the end of the fault, and from the end of the load (which may outlast the fault).
    recovered_s: float
    caught_up_s: float
    retried_requests: int

    def figures(self) -> str:
        a, r = self.accepted, self.reading
        per_consumer = ", ".join(f"{k} {r.applied[k]}/{r.expected[k]}" for k in sorted(r.expected))
        return (
            f"{self.fault}: accepted {a.total} (catalog events {a.catalog_events}, prices"
            f" {len(a.prices)}, customer events {a.customer_events}); applied"
            f" {sum(r.applied.values())} of {sum(r.expected.values())} ({per_consumer});"
            f" duplicates absorbed {r.duplicates}; dead letters {len(r.dead_letters)},"
            f" parked {r.parked}; requests retried {self.retried_requests};"
            f" recovered {self.recovered_s:.1f}s after the fault,"
            f" {self.caught_up_s:.1f}s after the load"
        )


class Stack(Protocol):
    """What the ledger reads of a stack: the fault suite's `FaultStack`, or a scale-out's
    `Cluster` (tests/scale/cluster.py)."""

    @property
    def broker(self) -> EmbeddedBroker: ...

    def url(self, name: str) -> str: ...

    def database_url(self, name: str) -> str: ...

    async def readyz(
        self, client: httpx.AsyncClient, name: str, port: int | None = None
    ) -> Any: ...


class Ledger:
    """Reads the consumers' state of one stack and compares it with what was accepted."""

    def __init__(self, stack: Stack, token: str) -> None:
        self.stack = stack
        self.http = httpx.AsyncClient(
            timeout=5.0, trust_env=False, headers={"Authorization": f"Bearer {token}"}
        )
        self.dbs = {name: Database(stack.database_url(name)) for name in CONSUMES}

    async def close(self) -> None:
        await self.http.aclose()
        for db in self.dbs.values():
            await db.dispose()

    async def settle(
        self,
        accepted: Accepted,
        *,
        fault: str,
        since: float,
        expect_dead: Iterable[DeadLetter] = (),
        expect_parked: int = 0,
        retried_requests: int = 0,
        timeout_s: float = 120.0,
        stall_s: float = 30.0,
    ) -> Outcome:
        """Wait, once the load is over, until the ledger holds; fail when it still does not
        after `timeout_s`, or as soon as nothing has moved for `stall_s` (stuck). `since`:
        when the fault ended."""
        expected_dead = set(expect_dead)
        started = time.monotonic()
        last_progress, moved_at = None, started
        while True:
            reading = await self.read(accepted, expected_dead, expect_parked)
            now = time.monotonic()
            if not reading.problems:
                return Outcome(
                    fault, accepted, reading, now - since, now - started, retried_requests
                )
            if reading.progress != last_progress:
                last_progress, moved_at = reading.progress, now
            if now - moved_at > stall_s or now - started > timeout_s:
                shown = "\n  ".join(reading.problems[:25])
                raise AssertionError(
                    f"{fault}: the ledger does not hold {now - since:.0f}s after the fault"
                    f" ({'stuck' if now - moved_at > stall_s else 'still moving'}):\n  {shown}"
                )
            await asyncio.sleep(1.0)

    async def read(
        self, accepted: Accepted, expected_dead: set[DeadLetter], expected_parked: int
    ) -> Reading:
        reading = Reading()
        for check in (
            self._readiness,
            self._catalog_events,
            self._customer_events,
            self._search_misses,
            self._prices,
        ):
            try:
                await check(accepted, reading)
            except Exception as exc:  # a database or service still away: not settled yet
                reading.problems.append(f"{check.__name__}: {type(exc).__name__}: {exc}")
        try:
            await self._dead_letters(reading, expected_dead)
        except Exception as exc:
            reading.problems.append(f"dead letters: {type(exc).__name__}: {exc}")
        if reading.parked != expected_parked:
            reading.problems.append(f"parked events: {reading.parked}, expected {expected_parked}")
        return reading

    # --- nothing stuck -------------------------------------------------------------------

    async def _readiness(self, _: Accepted, reading: Reading) -> None:
        waiting: list[Any] = []
        for name in CONSUMES:
            body = await self.stack.readyz(self.http, name)
            if body is None:
                reading.problems.append(f"{name} does not answer /readyz")
                continue
            backlog = body.get("outbox_backlog")
            lag = (body.get("consumer") or {}).get("lag")
            triage = body.get("triage") or {}
            reading.parked += int(body.get("outbox_parked") or 0)
            waiting.append((name, backlog, lag, triage.get("backlog")))
            if body.get("status") != "ready":
                reading.problems.append(f"{name} is not ready: {body}")
            if backlog != 0:
                reading.problems.append(f"{name} outbox backlog {backlog}")
            if lag != 0:
                reading.problems.append(f"{name} consumer lag {lag}")
            for gauge in ("backlog", "retrying", "waiting_for_catalog", "failed"):
                if triage.get(gauge, 0) != 0:
                    reading.problems.append(f"{name} triage {gauge} {triage[gauge]}: {triage}")
            reading.duplicates += await self._duplicates(name)
        reading.waiting = tuple(waiting)

    async def _duplicates(self, name: str) -> int:
        """Redelivered events the service's consumer absorbed (inbox or stale version),
        counted since its process started."""
        response = await self.http.get(f"{self.stack.url(name)}/metrics")
        return sum(int(float(value)) for _, value in _CONSUMED.findall(response.text))

    # --- catalog events: pricing and feedback ------------------------------------------

    async def _catalog_events(self, accepted: Accepted, reading: Reading) -> None:
        catalog = self.stack.url("catalog")
        current = {}
        for product in accepted.products.values():
            response = await self.http.get(f"{catalog}/v1/products/{product.id}")
            current[product.id] = response.json()
            if current[product.id]["version"] != product.version:
                reading.problems.append(
                    f"catalog holds {product.id} at version {current[product.id]['version']},"
                    f" the load confirmed {product.version}"
                )
        for group in ("pricing", "feedback"):
            inbox = await self._inbox(group, CATALOG_EVENTS)
            positions = dict(
                (
                    await self._query(
                        group,
                        "SELECT subject, sequence FROM subject_position"
                        " WHERE consumer = :group AND source = '/catalog'",
                        group=group,
                    )
                ).all()
            )
            reading.expected[f"{group}:catalog"] += accepted.catalog_events
            reading.applied[f"{group}:catalog"] += inbox
            if inbox != accepted.catalog_events:
                reading.problems.append(
                    f"{group} inbox holds {inbox} catalog events, accepted"
                    f" {accepted.catalog_events} (one per product version)"
                )
            for product in accepted.products.values():
                last = max(set(range(1, product.version + 1)) - product.unsendable)
                if positions.get(product.id) != last:
                    reading.problems.append(
                        f"{group} applied {product.id} up to version"
                        f" {positions.get(product.id)}, the catalog's last is {last}"
                    )
        await self._pricing_products(accepted, reading)
        names = dict((await self._query("feedback", "SELECT product_id, name FROM product")).all())
        for product in accepted.products.values():
            if product.version in product.unsendable:
                continue
            if names.get(product.id) != current[product.id]["name"]:
                reading.problems.append(
                    f"feedback names {product.id} {names.get(product.id)!r}, the catalog"
                    f" {current[product.id]['name']!r}"
                )

    async def _pricing_products(self, accepted: Accepted, reading: Reading) -> None:
        held = dict((await self._query("pricing", "SELECT id, catalog_version FROM product")).all())
        history: dict[str, list[int]] = {}
        for product_id, version in (
            await self._query(
                "pricing", "SELECT product_id, catalog_version FROM product_cost ORDER BY id"
            )
        ).all():
            history.setdefault(product_id, []).append(version)
        for product in accepted.products.values():
            # Every version changed the cost: each must be in the history once, in order.
            versions = sorted(set(range(1, product.version + 1)) - product.unsendable)
            if held.get(product.id) != versions[-1]:
                reading.problems.append(
                    f"pricing holds {product.id} at version {held.get(product.id)},"
                    f" expected {versions[-1]}"
                )
            if history.get(product.id, []) != versions:
                reading.problems.append(
                    f"pricing's cost history of {product.id} has versions"
                    f" {history.get(product.id, [])}, expected {versions} (each once, in order)"
                )

    # --- customer events: pricing and feedback's triage --------------------------------

    async def _customer_events(self, accepted: Accepted, reading: Reading) -> None:
        published = len(accepted.purchases) + len(accepted.reviews)
        inbox = await self._inbox("pricing", CUSTOMER_EVENTS)
        reading.expected["pricing:customer"] += published
        reading.applied["pricing:customer"] += inbox
        if inbox != published:
            reading.problems.append(
                f"pricing inbox holds {inbox} customer events, {published} accepted with a product"
            )
        rows = (
            await self._query("pricing", "SELECT event_id, product_id, quantity FROM purchase")
        ).all()
        # Pricing keys a purchase `<source>/<event_id>`: one storefront (the admin) sends here.
        stored = {
            key.rpartition("/")[2]: (product_id, quantity) for key, product_id, quantity in rows
        }
        missing = accepted.purchases.keys() - stored.keys()
        unknown = stored.keys() - accepted.purchases.keys()
        wrong = [
            k
            for k in accepted.purchases.keys() & stored.keys()
            if stored[k] != accepted.purchases[k]
        ]
        if missing or unknown or wrong:
            reading.problems.append(
                f"pricing purchases: {len(missing)} missing, {len(unknown)} unknown,"
                f" {len(wrong)} with other figures (e.g. {sorted(missing | unknown)[:3]})"
            )
        units: Counter[str] = Counter()
        for product_id, quantity in accepted.purchases.values():
            units[product_id] += quantity
        pricing = self.stack.url("pricing")
        for product_id, expected in units.items():
            response = await self.http.get(f"{pricing}/v1/products/{product_id}/metrics")
            shown = sum(total["units"] for total in response.json()["totals"])
            if shown != expected:
                reading.problems.append(
                    f"pricing metrics of {product_id}: {shown} units, accepted {expected}"
                )
        items = await self._pages(f"{self.stack.url('feedback')}/v1/feedback")
        triaged = Counter(item["event_id"] for item in items)
        reading.expected["feedback:triage"] += len(accepted.reviews)
        reading.applied["feedback:triage"] += sum(1 for e in accepted.reviews if triaged[e] == 1)
        untriaged = [e for e in accepted.reviews if triaged[e] == 0]
        twice = [e for e, n in triaged.items() if n > 1]
        if untriaged or twice:
            reading.problems.append(
                f"feedback triage: {len(untriaged)} reviews without an item, {len(twice)} with"
                f" more than one (of {len(accepted.reviews)} accepted)"
            )

    # --- search misses: the catalog's requirements -------------------------------------

    async def _search_misses(self, accepted: Accepted, reading: Reading) -> None:
        requirements = await self._pages(
            f"{self.stack.url('catalog')}/v1/requirements", kind="search_miss"
        )
        counts: Counter[str] = Counter()
        for requirement in requirements:
            counts[requirement["text"]] += requirement["count"]
        reading.expected["catalog:search_misses"] += sum(accepted.search_misses.values())
        for query, expected in accepted.search_misses.items():
            reading.applied["catalog:search_misses"] += min(counts[query], expected)
            if counts[query] != expected:
                reading.problems.append(
                    f"catalog counts {counts[query]} search misses for {query!r},"
                    f" accepted {expected}"
                )

    # --- prices --------------------------------------------------------------------------

    async def _prices(self, accepted: Accepted, reading: Reading) -> None:
        statuses = dict((await self._query("pricing", "SELECT id, status FROM price")).all())
        reading.expected["pricing:prices"] += len(accepted.prices)
        approved = {p for p in accepted.prices if statuses.get(p) in ("approved", "published")}
        reading.applied["pricing:prices"] += len(approved)
        if approved != accepted.prices:
            reading.problems.append(
                f"pricing: {len(accepted.prices - approved)} accepted prices not approved"
            )

    # --- dead letters --------------------------------------------------------------------

    async def _dead_letters(self, reading: Reading, expected: set[DeadLetter]) -> None:
        """What each group set aside, on its `dlq.<group>` topic and, where the service
        keeps a dead-letter store, in `GET /v1/dead-letters`: exactly the expected ones."""
        for group in CONSUMES:
            on_topic = {
                DeadLetter(
                    group,
                    _header(record, "dlq-original-topic"),
                    int(_header(record, "dlq-original-partition")),
                    int(_header(record, "dlq-original-offset")),
                )
                for record in await read_topic(self.stack.broker.bootstrap, dlq_topic(group))
            }
            reading.dead_letters |= on_topic
            mine = {letter for letter in expected if letter.group == group}
            if on_topic != mine:
                reading.problems.append(
                    f"dlq.{group} holds {sorted(on_topic)}, expected {sorted(mine)}"
                )
            stored = await self.stored_dead_letters(group)
            if stored is not None and stored != mine:
                reading.problems.append(
                    f"{group} /v1/dead-letters lists {sorted(stored)}, expected {sorted(mine)}"
                )

    async def stored_dead_letters(self, group: str) -> set[DeadLetter] | None:
        """The open dead letters a service keeps (None where it keeps none: 404)."""
        url = f"{self.stack.url(group)}/v1/dead-letters"
        response = await self.http.get(url, params={"limit": 200})
        if response.status_code == 404 and "problem" in response.headers.get("content-type", ""):
            return None
        response.raise_for_status()
        return {
            DeadLetter(item["consumer"], item["topic"], item["partition"], item["offset"])
            for item in await self._pages(url)
            # Parked outbox rows may be listed here too: `/readyz` counts those.
            if item.get("source", "consumer") == "consumer" and item["status"] == "open"
        }

    # --- waits of the scenarios --------------------------------------------------------

    async def drained(self, *names: str, timeout_s: float = 60.0) -> None:
        """Until these services' relays have published their whole outbox."""
        deadline = time.monotonic() + timeout_s
        while True:
            bodies = [await self.stack.readyz(self.http, name) for name in names]
            if all(body and body.get("outbox_backlog") == 0 for body in bodies):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"outboxes not drained within {timeout_s}s: {bodies}")
            await asyncio.sleep(0.2)

    async def inbox(self, group: str, topic: str) -> int:
        """How many events of `topic` the group has applied (its inbox rows)."""
        return await self._inbox(group, topic)

    # --- reading -------------------------------------------------------------------------

    async def _query(self, service: str, sql: str, **params: Any) -> Any:
        async with self.dbs[service].reader() as session:
            return await session.execute(text(sql), params)

    async def _inbox(self, group: str, topic: str) -> int:
        result = await self._query(
            group,
            "SELECT count(*) FROM inbox WHERE consumer = :group AND topic = :topic",
            group=group,
            topic=topic,
        )
        return int(result.scalar_one())

    async def _pages(self, url: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a paginated list."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = params | {"limit": 200} | ({"cursor": cursor} if cursor else {})
            response = await self.http.get(url, params=query)
            response.raise_for_status()
            page = response.json()
            items.extend(page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return items


def _header(record: ConsumerRecord, name: str) -> str:
    return next(value.decode() for key, value in record.headers if key == name)


async def read_topic(bootstrap: str, topic: str) -> list[ConsumerRecord]:
    """Every record on a topic now (none when the topic does not exist)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    async with asyncio.timeout(15):
        await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            await consumer.topics()  # metadata refresh; a new topic may just have appeared
            partitions = consumer.partitions_for_topic(topic) or set()
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not assigned:
            return []
        consumer.assign(assigned)
        async with asyncio.timeout(15):
            ends = await consumer.end_offsets(assigned)
            await consumer.seek_to_beginning(*assigned)
            records: list[ConsumerRecord] = []
            while [tp for tp in assigned if await consumer.position(tp) < ends[tp]]:
                batch = await consumer.getmany(timeout_ms=500)
                records.extend(r for part in batch.values() for r in part)
        return records
    finally:
        await consumer.stop()
