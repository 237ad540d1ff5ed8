"""`GET /v1/dead-letters` on the gateway: every real service's consumer dead letters and
parked outbox events merged newest first, cursor paging across them, and replay, re-queue and
discard through routing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.app import create_app
from shared.broker import EmbeddedBroker
from shared.dead_letters import LETTERS
from shared.pagination import encode_cursor
from shared.settings import Settings
from shared.tables import outbox
from tests.gateway.services import ServiceProcess
from tests.gateway.store import parked_event, poison_catalog_event
from tests.support import assert_problem, auth, eventually, running

SERVICES = ["catalog", "feedback", "launch", "pricing"]
# The consumer groups that read catalog.events, so dead-letter a poison there.
CATALOG_READERS = ["feedback", "launch", "pricing"]
ADMIN = auth("admin")


@pytest.fixture
async def gateway(view_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(view_settings, services=SERVICES)) as http:
        yield http


async def every_letter(gateway: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    """Every page of the merged list, following next_cursor."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await gateway.get("/v1/dead-letters", params=query, headers=ADMIN)
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["degraded"] == []
        found += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return found


async def service_list(service: ServiceProcess, source: str) -> list[dict[str, Any]]:
    """Every item of one service's own list of one source, straight from the service."""
    found: list[dict[str, Any]] = []
    params: dict[str, str] = {"source": source, "limit": "200"}
    async with httpx.AsyncClient(base_url=service.url, trust_env=False) as http:
        while True:
            response = await http.get("/v1/dead-letters", params=params, headers=ADMIN)
            assert response.status_code == 200, response.text
            found += response.json()["items"]
            if (cursor := response.json()["next_cursor"]) is None:
                return found
            params["cursor"] = cursor


@pytest.fixture(scope="module")
async def poison(broker: EmbeddedBroker, real_services: dict[str, ServiceProcess]) -> str:
    """The id of an event the readers of catalog.events could not read, once each
    dead-lettered it."""
    event_id = await poison_catalog_event(broker.bootstrap)

    async def all_dead_lettered() -> bool:
        held = []
        for name in CATALOG_READERS:
            letters = await service_list(real_services[name], "consumer")
            held += [letter for letter in letters if letter["event_id"] == event_id]
        return len(held) == len(CATALOG_READERS)

    await eventually(all_dead_lettered, timeout_s=30)
    return event_id


@pytest.fixture(scope="module")
async def parked(real_services: dict[str, ServiceProcess]) -> dict[str, str]:
    """An event parked in the catalog's outbox and one in launch's, by service."""
    return {
        name: await parked_event(real_services[name], "MessageSizeTooLargeError: a test's")
        for name in ("catalog", "launch")
    }


async def test_letters_and_parked_events_come_merged_newest_first_with_service_and_source(
    gateway: httpx.AsyncClient,
    poison: str,
    parked: dict[str, str],
    real_services: dict[str, ServiceProcess],
) -> None:
    letters = await every_letter(gateway)

    ids = [letter["id"] for letter in letters]
    assert ids == sorted(ids, reverse=True)  # UUIDv7: newest first, across services
    ours = [letter for letter in letters if letter.get("event_id") == poison]
    assert sorted((letter["service"], letter["source"], letter["consumer"]) for letter in ours) == [
        (name, "consumer", name) for name in CATALOG_READERS
    ]
    assert all(letter["status"] == "open" for letter in ours)
    assert all(letter["error_type"] for letter in ours)
    set_aside = {letter["service"]: letter for letter in letters if letter["source"] == "outbox"}
    assert {name: letter["id"] for name, letter in set_aside.items()} == parked
    assert all(letter["status"] == "open" for letter in set_aside.values())
    assert set_aside["launch"]["error_message"] == "MessageSizeTooLargeError: a test's"
    # Exactly what the services hold, each once.
    held = {
        (name, source, item["id"])
        for name, service in real_services.items()
        for source in ("consumer", "outbox")
        for item in await service_list(service, source)
    }
    assert [(item["service"], item["source"], item["id"]) for item in letters] == sorted(
        held, key=lambda key: key[2], reverse=True
    )
    # Pages of any size walk the same list.
    for limit in (1, 2, 3):
        assert [letter["id"] for letter in await every_letter(gateway, limit=limit)] == ids


async def test_source_lists_one_kind_and_a_consumer_filter_lists_consumer_letters(
    gateway: httpx.AsyncClient, poison: str, parked: dict[str, str]
) -> None:
    outbox_only = await every_letter(gateway, source="outbox")
    assert {letter["source"] for letter in outbox_only} == {"outbox"}
    assert set(parked.values()) <= {letter["id"] for letter in outbox_only}
    consumer_only = await every_letter(gateway, source="consumer")
    assert consumer_only
    assert {letter["source"] for letter in consumer_only} == {"consumer"}
    # Parked events have no consumer group and are never replayed: not asked for then.
    for params in ({"consumer": "launch"}, {"status": "replayed"}):
        assert {letter["source"] for letter in await every_letter(gateway, **params)} <= {
            "consumer"
        }
    discarded_parked = await every_letter(gateway, source="outbox", status="discarded")
    assert set(parked.values()).isdisjoint(letter["id"] for letter in discarded_parked)


async def test_filters_reach_each_service_and_service_asks_only_one(
    gateway: httpx.AsyncClient, poison: str, parked: dict[str, str]
) -> None:
    by_consumer = await every_letter(gateway, consumer="pricing")
    assert by_consumer
    assert {letter["service"] for letter in by_consumer} == {"pricing"}
    only_feedback = await every_letter(gateway, service="feedback", status="open")
    assert poison in [letter.get("event_id") for letter in only_feedback]
    assert {letter["service"] for letter in only_feedback} == {"feedback"}
    assert await every_letter(gateway, type="no.such.type.v1") == []
    only_launch = await every_letter(gateway, service="launch", error="messagesizetoolarge")
    assert [letter["id"] for letter in only_launch] == [parked["launch"]]


async def test_a_letter_is_discarded_or_replayed_through_routing(
    gateway: httpx.AsyncClient, poison: str
) -> None:
    (pricing,) = [
        letter
        for letter in await every_letter(gateway, service="pricing")
        if letter.get("event_id") == poison
    ]
    (feedback,) = [
        letter
        for letter in await every_letter(gateway, service="feedback")
        if letter.get("event_id") == poison
    ]

    replayed = await gateway.post(f"/v1/pricing/dead-letters/{pricing['id']}/replay", headers=ADMIN)
    discarded = await gateway.post(
        f"/v1/feedback/dead-letters/{feedback['id']}/discard",
        json={"reason": "a test's poison"},
        headers=ADMIN,
    )

    # The event is still unreadable: the replay fails and the letter stays open.
    assert assert_problem(replayed, 409)["error_type"]
    assert discarded.status_code == 200, discarded.text
    assert discarded.json()["status"] == "discarded"
    statuses = {
        letter["service"]: letter["status"]
        for letter in await every_letter(gateway)
        if letter.get("event_id") == poison
    }
    assert statuses == {"pricing": "open", "feedback": "discarded", "launch": "open"}


async def test_a_parked_event_is_requeued_or_discarded_through_routing(
    gateway: httpx.AsyncClient, real_services: dict[str, ServiceProcess]
) -> None:
    catalog, launch = real_services["catalog"], real_services["launch"]
    requeue = await parked_event(catalog, "InvalidTopicError: a test's")
    drop = await parked_event(launch, "MessageSizeTooLargeError: a test's")
    assert {requeue, drop} <= {item["id"] for item in await every_letter(gateway, source="outbox")}

    requeued = await gateway.post(f"/v1/catalog/dead-letters/{requeue}/replay", headers=ADMIN)
    discarded = await gateway.post(
        f"/v1/launch/dead-letters/{drop}/discard", json={"reason": "a test's"}, headers=ADMIN
    )

    assert requeued.status_code == 200, requeued.text
    assert (requeued.json()["source"], requeued.json()["status"]) == ("outbox", "requeued")
    assert discarded.status_code == 200, discarded.text
    assert (discarded.json()["status"], discarded.json()["reason"]) == ("discarded", "a test's")
    # Back in the queue, the catalog's relay sends it; the list no longer shows it.
    await eventually(lambda: published(catalog, requeue), timeout_s=30)
    listed = {item["id"]: item for item in await every_letter(gateway)}
    assert requeue not in listed
    assert (listed[drop]["service"], listed[drop]["status"]) == ("launch", "discarded")
    again = await gateway.post(f"/v1/catalog/dead-letters/{requeue}/replay", headers=ADMIN)
    assert_problem(again, 409, detail_has="not parked")
    missing = await gateway.post(
        f"/v1/launch/dead-letters/{requeue}/discard", json={"reason": "x"}, headers=ADMIN
    )
    assert_problem(missing, 404)


async def published(service: ServiceProcess, event_id: str) -> bool:
    """Whether the service's relay has sent this outbox event."""
    engine = create_async_engine(service.database_url)
    try:
        async with engine.connect() as connection:
            sent = await connection.scalar(
                select(outbox.c.published_at).where(outbox.c.id == event_id)
            )
    finally:
        await engine.dispose()
    return sent is not None


async def test_a_hung_service_is_named_degraded_and_the_others_letters_still_come(
    gateway: httpx.AsyncClient,
    poison: str,
    parked: dict[str, str],
    real_services: dict[str, ServiceProcess],
) -> None:
    with real_services["pricing"].frozen():
        response = await gateway.get("/v1/dead-letters", params={"limit": 200}, headers=ADMIN)

    assert response.status_code == 200, response.text
    page = response.json()
    assert page["degraded"] == ["pricing"]
    assert {letter["service"] for letter in page["items"]} == {"catalog", "feedback", "launch"}


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"status": "lost"}, ["query", "status"]),
        ({"limit": "0"}, ["query", "limit"]),
        ({"service": "billing"}, ["query", "service"]),
        ({"source": "dlq"}, ["query", "source"]),
        ({"cursor": "bm90LWEtY3Vyc29y"}, ["query", "cursor"]),
        # A service's own cursor is not the merged list's.
        (
            {"cursor": LETTERS.cursor_at("0190d8f0-0000-7000-8000-000000000000")},
            ["query", "cursor"],
        ),
        ({"cursor": encode_cursor(["dl2", [["launch", "outbox", "seven"]]])}, ["query", "cursor"]),
        ({"cursor": encode_cursor(["dl2", [["launch", "parked", None]]])}, ["query", "cursor"]),
        ({"cursor": "c" * 2049}, ["query", "cursor"]),
        # What parked events do not have, asked of them: the services' own refusal.
        ({"source": "outbox", "consumer": "launch"}, ["query", "consumer"]),
        ({"source": "outbox", "status": "replayed"}, ["query", "status"]),
    ],
)
async def test_bad_input_is_a_422_problem(
    gateway: httpx.AsyncClient, params: dict[str, str], loc: list[str]
) -> None:
    response = await gateway.get("/v1/dead-letters", params=params, headers=ADMIN)

    assert assert_problem(response, 422)["errors"][0]["loc"] == loc


async def test_dead_letters_are_for_admins(gateway: httpx.AsyncClient) -> None:
    assert_problem(await gateway.get("/v1/dead-letters"), 401)
    everything_else = auth(
        "catalog:read catalog:write feedback:read feedback:write pricing:read pricing:approve"
    )
    denied = await gateway.get("/v1/dead-letters", headers=everything_else)
    assert assert_problem(denied, 403)["required_scope"] == "admin"
