"""`GET /v1/dead-letters` on the gateway: every real service's dead letters merged newest
first; replay and discard through routing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from shared.broker import EmbeddedBroker
from shared.settings import Settings
from tests.gateway.services import ServiceProcess
from tests.gateway.store import poison_catalog_event
from tests.support import assert_problem, auth, eventually, running

SERVICES = ["catalog", "feedback", "pricing"]
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


@pytest.fixture(scope="module")
async def poison(broker: EmbeddedBroker, real_services: dict[str, ServiceProcess]) -> str:
    """The id of an event pricing and feedback could not read, once both dead-lettered it."""
    event_id = await poison_catalog_event(broker.bootstrap)

    async def both_dead_lettered() -> bool:
        held = []
        for name in ("pricing", "feedback"):
            async with httpx.AsyncClient(base_url=real_services[name].url) as http:
                page = (await http.get("/v1/dead-letters", headers=ADMIN)).json()
            held += [letter for letter in page["items"] if letter["event_id"] == event_id]
        return len(held) == 2

    await eventually(both_dead_lettered, timeout_s=30)
    return event_id


async def test_every_services_letters_come_merged_newest_first_with_their_service(
    gateway: httpx.AsyncClient, poison: str
) -> None:
    letters = await every_letter(gateway)

    ids = [letter["id"] for letter in letters]
    assert ids == sorted(ids, reverse=True)  # UUIDv7: newest first, across services
    ours = [letter for letter in letters if letter["event_id"] == poison]
    assert sorted((letter["service"], letter["consumer"]) for letter in ours) == [
        ("feedback", "feedback"),
        ("pricing", "pricing"),
    ]
    assert all(letter["status"] == "open" for letter in ours)
    assert all(letter["error_type"] for letter in ours)
    # Pages of one walk the same list.
    assert [letter["id"] for letter in await every_letter(gateway, limit=1)] == ids


async def test_filters_reach_each_service_and_service_asks_only_one(
    gateway: httpx.AsyncClient, poison: str
) -> None:
    by_consumer = await every_letter(gateway, consumer="pricing")
    assert by_consumer
    assert {letter["service"] for letter in by_consumer} == {"pricing"}
    only_feedback = await every_letter(gateway, service="feedback", status="open")
    assert poison in [letter["event_id"] for letter in only_feedback]
    assert {letter["service"] for letter in only_feedback} == {"feedback"}
    assert await every_letter(gateway, type="no.such.type.v1") == []


async def test_a_letter_is_discarded_or_replayed_through_routing(
    gateway: httpx.AsyncClient, poison: str
) -> None:
    (pricing,) = [
        letter
        for letter in await every_letter(gateway, service="pricing")
        if letter["event_id"] == poison
    ]
    (feedback,) = [
        letter
        for letter in await every_letter(gateway, service="feedback")
        if letter["event_id"] == poison
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
        if letter["event_id"] == poison
    }
    assert statuses == {"pricing": "open", "feedback": "discarded"}


async def test_a_hung_service_is_named_degraded_and_the_others_letters_still_come(
    gateway: httpx.AsyncClient, poison: str, real_services: dict[str, ServiceProcess]
) -> None:
    with real_services["pricing"].frozen():
        response = await gateway.get("/v1/dead-letters", params={"limit": 200}, headers=ADMIN)

    assert response.status_code == 200, response.text
    page = response.json()
    assert page["degraded"] == ["pricing"]
    assert {letter["service"] for letter in page["items"]} == {"feedback"}


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"status": "lost"}, ["query", "status"]),
        ({"limit": "0"}, ["query", "limit"]),
        ({"service": "billing"}, ["query", "service"]),
        ({"cursor": "bm90LWEtY3Vyc29y"}, ["query", "cursor"]),  # refused by the services
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
