"""Scale-out on one machine: two feedback processes in one consumer group on one PostgreSQL
database, two API-only gateway replicas sharing their rate limits in Redis, the catalog and
pricing downstream, all on the test's own embedded broker.

What it shows: the feedback group's partitions are split between the two processes, and
when one leaves the other takes them all; one relay per database publishes (the advisory
lock), and when its process leaves the other's relay takes over; every event accepted
through either gateway is applied exactly once downstream (the fault suite's ledger); and
requests spread over both gateways meet ONE rate limit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.feedback.handlers import CATALOG_EVENTS
from shared.revocation import GATEWAY_TOPIC
from tests.faults.ledger import Ledger
from tests.faults.load import Accepted, LoadDriver
from tests.faults.stack import ADMIN_KEY, STACK_SETTINGS
from tests.scale.cluster import Cluster, Member
from tests.support import assert_problem, create_pg_database, drop_pg_database, eventually

pytestmark = [pytest.mark.stack, pytest.mark.postgres, pytest.mark.timeout(600)]

COMPONENTS = ("gateway", "catalog", "feedback", "pricing")
# Feedback's group reads the catalog's topic and, as every service does, the gateway's (key
# revocations): its members share the partitions of both.
GROUP_TOPICS = (CATALOG_EVENTS, GATEWAY_TOPIC)
PARTITIONS = int(STACK_SETTINGS["PRODUCTOPS_TOPIC_PARTITIONS"]) * len(GROUP_TOPICS)
# Every caller's budget: 200 requests in any 500 s (0.4 a second), far more than the load
# driver spends, and a window no test outlasts: the probe below sees it spent, not refilled.
BURST = 200
LIMITS = {"PRODUCTOPS_RATE_LIMIT_BURST": str(BURST), "PRODUCTOPS_RATE_LIMIT_PER_S": "0.4"}
API_ONLY = {"PRODUCTOPS_RUN_CONSUMERS": "false", "PRODUCTOPS_RUN_RELAY": "false"}


@pytest.fixture
async def cluster(tmp_path: Path, redis_limits: dict[str, str]) -> AsyncIterator[Cluster]:
    """A broker, fresh PostgreSQL databases per component, Redis limits under the test's
    own prefix; every process the test spawns is stopped after it."""
    urls = {name: await create_pg_database() for name in COMPONENTS}
    settings = LIMITS | {
        "PRODUCTOPS_REDIS_URL": redis_limits["redis_url"],
        "PRODUCTOPS_REDIS_KEY_PREFIX": redis_limits["redis_key_prefix"],
        # This machine's cores are shared with other work: a starved gateway must not take a
        # slow answer for Redis being down (and limit per replica, which this test refutes).
        "PRODUCTOPS_REDIS_TIMEOUT_S": "5",
    }
    made = Cluster(tmp_path, urls, settings)
    try:
        made.start()
        yield made
    finally:
        await asyncio.to_thread(made.stop)
        for url in urls.values():
            await drop_pg_database(url)


async def test_two_feedback_processes_share_the_work_and_two_gateways_one_limit(
    cluster: Cluster,
) -> None:
    http = httpx.AsyncClient(timeout=10.0, trust_env=False)
    try:
        await _scale_out(cluster, http)
    finally:
        await http.aclose()


async def _scale_out(cluster: Cluster, http: httpx.AsyncClient) -> None:
    catalog, pricing = cluster.spawn("catalog"), cluster.spawn("pricing")
    first = cluster.spawn("feedback", "feedback-1")
    await cluster.wait_ready(http, catalog, pricing, first)
    second = cluster.spawn("feedback", "feedback-2")
    # Each gateway sends ingestion to its own feedback process (they share one database).
    gateways = [
        cluster.spawn("gateway", "gateway-1", **API_ONLY),
        cluster.spawn(
            "gateway", "gateway-2", **API_ONLY, PRODUCTOPS_FEEDBACK_PORT=str(second.port)
        ),
    ]
    await cluster.wait_ready(http, second, *gateways)
    feedback = [first, second]

    # 1. The group's partitions are split: each process owns some, together all.
    owned: list[int] = []

    async def split() -> bool:
        owned[:] = [await _partitions(cluster, http, member) for member in feedback]
        return min(owned) >= 1 and sum(owned) == PARTITIONS

    await eventually(split, timeout_s=90)

    # 2. Two gateways, one limit: a caller's requests alternate between the replicas.
    await _one_limit_over_both_gateways(http, gateways)

    # 3. Load through both gateways at once: the back office and a storefront through the
    # first, a second storefront through the second.
    drivers = [LoadDriver(gateway.url) for gateway in gateways]
    try:
        for driver in drivers:
            await driver.login()
        products = await drivers[0].seed(products=6)
        await asyncio.gather(
            drivers[0].run(products, rounds=6, pause_s=0.2),
            drivers[1].run(products, rounds=6, pause_s=0.2, back_office=False),
        )
        ledger = Ledger(cluster, drivers[0].token)  # the cluster reads like a FaultStack
        try:
            await ledger.drained("feedback")
            # 4. One relay per database: one process published all of feedback's events.
            published = [await _published(cluster, http, member) for member in feedback]
            assert sorted(published)[0] == 0, published
            assert max(published) > 0, published
            leader = feedback[published.index(max(published))]
            survivor = next(member for member in feedback if member is not leader)

            # 5. The relay's process leaves: the survivor takes its partitions and its lock,
            # and ingestion goes on through the gateway routed to the survivor.
            await asyncio.to_thread(leader.stop)
            left_at = time.monotonic()
            cluster.primary["feedback"] = survivor

            async def took_over() -> bool:
                return await _partitions(cluster, http, survivor) == PARTITIONS

            await eventually(took_over, timeout_s=90)
            onward = drivers[feedback.index(survivor)]
            await onward.run(products, rounds=6, pause_s=0.2)
            await ledger.drained("feedback")
            taken_over = await _published(cluster, http, survivor)
            assert taken_over > 0

            # 6. The ledger: everything accepted through either gateway, applied once.
            outcome = await ledger.settle(
                merged(*(driver.accepted for driver in drivers)),
                fault="two feedback processes, the relay's leaving",
                since=left_at,
            )
            print(
                f"partitions split {owned}; {leader.label}'s relay published {max(published)},"
                f" the other's 0; after {leader.label} left, {survivor.label} owned all"
                f" {PARTITIONS} and its relay published {taken_over}"
            )
            print(outcome.figures())
        finally:
            await ledger.close()
    finally:
        for driver in drivers:
            await driver.close()


async def _one_limit_over_both_gateways(http: httpx.AsyncClient, gateways: list[Member]) -> None:
    """A fresh caller sends twice its budget, alternating replicas: the budget passes, the
    rest is refused by whichever replica gets it (per-replica limits would pass it all)."""
    admin = await _token(http, gateways[0].url, ADMIN_KEY)
    created = await http.post(
        f"{gateways[0].url}/v1/api-keys",
        json={"name": "probe", "owner": "probe", "scopes": ["catalog:read"]},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert created.status_code == 201, created.text
    probe = {
        "Authorization": f"Bearer {await _token(http, gateways[1].url, created.json()['api_key'])}"
    }
    answers: list[tuple[int, httpx.Response]] = []
    for n in range(2 * BURST):
        gateway = gateways[n % 2]
        answers.append(
            (n % 2, await http.get(f"{gateway.url}/v1/catalog/product-types", headers=probe))
        )

    statuses = [response.status_code for _, response in answers]
    assert statuses == [200] * BURST + [429] * BURST, _runs(statuses)
    refused_by = {replica for replica, response in answers if response.status_code == 429}
    assert refused_by == {0, 1}
    refused = answers[-1][1]
    body = assert_problem(refused, 429, detail_has="too many requests")
    assert body["retry_after"] >= 1
    assert int(refused.headers["retry-after"]) >= 1
    for gateway in gateways:  # every decision was Redis's, none a replica's own
        assert await _fallbacks(http, gateway) == 0


async def _fallbacks(http: httpx.AsyncClient, gateway: Member) -> float:
    """Requests the gateway limited on its own, Redis not answering (its `/metrics`)."""
    text = (await http.get(f"{gateway.url}/metrics")).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "productops_rate_limit_fallback_total"
    )


async def _token(http: httpx.AsyncClient, gateway: str, api_key: str) -> str:
    response = await http.post(f"{gateway}/v1/auth/token", json={"api_key": api_key})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def _partitions(cluster: Cluster, http: httpx.AsyncClient, member: Member) -> int:
    """How many partitions the member's consumer owns now (its own `/readyz`)."""
    body = await cluster.readyz(http, "feedback", member.port) or {}
    return int((body.get("consumer") or {}).get("partitions") or 0)


async def _published(cluster: Cluster, http: httpx.AsyncClient, member: Member) -> int:
    """How many outbox events the member's relay has published since it started."""
    body = await cluster.readyz(http, "feedback", member.port) or {}
    return int((body.get("relay") or {}).get("published") or 0)


def merged(*parts: Accepted) -> Accepted:
    """What the platform accepted from several drivers, as one ledger expects it."""
    total = Accepted()
    for part in parts:
        total.products |= part.products
        total.prices |= part.prices
        total.purchases |= part.purchases
        total.reviews |= part.reviews
        total.search_misses += part.search_misses
    return total


def _runs(statuses: list[int]) -> list[tuple[int, int]]:
    """`[200, 200, 429]` as `[(200, 2), (429, 1)]`: a readable failure message."""
    runs: list[tuple[int, int]] = []
    for status in statuses:
        if runs and runs[-1][0] == status:
            runs[-1] = (status, runs[-1][1] + 1)
        else:
            runs.append((status, 1))
    return runs
