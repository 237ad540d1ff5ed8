"""`GET /v1/live` served by uvicorn, fed by the gateway's own reader of the real services'
topics on their broker: events arrive by scope, resume with Last-Event-ID, heartbeats,
and a client that stops reading is dropped while one that keeps up is not."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
import pytest

from gateway.app import create_app
from gateway.runtime import GatewayRuntime
from shared.settings import Settings
from tests.gateway.services import ServiceProcess
from tests.gateway.store import (
    Services,
    catalog_product,
    price_list,
    propose_once_pricing_knows,
    tag,
)
from tests.gateway.upstream import serving
from tests.support import assert_problem, auth, eventually, token

SERVICES = ["catalog", "feedback", "pricing"]
CATALOG_READER = auth("catalog:read")
HEARTBEAT_S = 0.3


class EventStream:
    """The events (and comments) of a streamed SSE response, one at a time."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()

    async def next(self, timeout_s: float = 15) -> dict[str, str]:
        fields: dict[str, str] = {}
        async with asyncio.timeout(timeout_s):
            async for line in self._lines:
                if line.startswith(":"):
                    return {"comment": line[1:].strip()}
                if not line:
                    if fields:
                        return fields
                    continue
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
        raise AssertionError("the stream ended")

    async def event(self, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, str]:
        """The next event whose CloudEvent `wanted` accepts, passing over the others."""
        while True:
            found = await self.next()
            if "data" in found and wanted(orjson.loads(found["data"])):
                return found


@pytest.fixture
def services(real_services: dict[str, ServiceProcess]) -> Services:
    return Services({name: service.url for name, service in real_services.items()})


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, GatewayRuntime]]:
    """The gateway on a real port, once its reader of the topics knows where they end."""
    app = create_app(settings, services=SERVICES)
    runtime: GatewayRuntime = app.state.runtime
    async with app.router.lifespan_context(app), serving(app) as port:

        async def reading() -> bool:
            return runtime.live_consumer.ready

        await eventually(reading, timeout_s=30)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=15) as http:
            yield http, runtime


@pytest.fixture
async def gateway(
    view_settings: Settings,
) -> AsyncIterator[tuple[httpx.AsyncClient, GatewayRuntime]]:
    settings = view_settings.model_copy(update={"live_heartbeat_s": HEARTBEAT_S})
    async with served(settings) as running:
        yield running


async def clients(runtime: GatewayRuntime, count: int) -> None:
    async def connected() -> bool:
        return runtime.live.clients == count

    await eventually(connected, timeout_s=10)


async def new_product_type(services: Services) -> str:
    code = f"type-{tag()}"
    await services.call(
        "POST",
        "catalog",
        "/v1/product-types",
        scopes="catalog:write",
        json={"code": code, "name": "Type", "required_attributes": []},
        expect=201,
    )
    return code


def type_created(code: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["type"] == "catalog.product_type.created.v1" and e["subject"] == code


async def test_an_event_a_service_publishes_arrives_on_the_stream(
    gateway: tuple[httpx.AsyncClient, GatewayRuntime], services: Services
) -> None:
    http, runtime = gateway
    async with http.stream("GET", "/v1/live", headers=CATALOG_READER) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        await clients(runtime, 1)
        code = await new_product_type(services)

        found = await EventStream(response).event(type_created(code))

    envelope = orjson.loads(found["data"])
    assert found["id"] == envelope["id"]
    assert found["event"] == "catalog.product_type.created.v1"
    assert envelope["source"] == "/catalog"
    assert envelope["data"]["code"] == code


async def test_a_caller_gets_only_the_topics_their_scopes_read(
    gateway: tuple[httpx.AsyncClient, GatewayRuntime], services: Services
) -> None:
    http, runtime = gateway
    code = await price_list(services)
    # Pricing's events carry the costs and margins behind guardrail violations: they need
    # pricing:finance, not just pricing:read.
    finance = auth("pricing:read pricing:finance")
    async with http.stream("GET", "/v1/live", headers=finance) as response:
        await clients(runtime, 1)
        product = await catalog_product(services)  # catalog events, not for this caller
        await propose_once_pricing_knows(services, product["id"], code, "9.99")

        stream = EventStream(response)
        first = await stream.next()
        while "comment" in first:
            first = await stream.next()

    assert first["event"] == "pricing.price.proposed.v1"
    assert orjson.loads(first["data"])["subject"] == product["id"]


async def test_last_event_id_resumes_after_that_event(
    gateway: tuple[httpx.AsyncClient, GatewayRuntime], services: Services
) -> None:
    http, runtime = gateway
    async with http.stream("GET", "/v1/live", headers=CATALOG_READER) as response:
        await clients(runtime, 1)
        first = await new_product_type(services)
        seen = await EventStream(response).event(type_created(first))
    received = runtime.live_consumer.received
    missed = [await new_product_type(services), await new_product_type(services)]

    async def in_the_window() -> bool:
        return runtime.live_consumer.received >= received + 2

    await eventually(in_the_window, timeout_s=30)
    headers = {**CATALOG_READER, "Last-Event-ID": seen["id"]}
    async with http.stream("GET", "/v1/live", headers=headers) as response:
        stream = EventStream(response)
        resumed: list[str] = []
        while len(resumed) < 2:
            event = orjson.loads((await stream.event(lambda e: True))["data"])
            resumed.append(event["subject"])

    # Different subjects, different partitions: their order is this gateway's arrival order.
    assert sorted(resumed) == sorted(missed)


async def test_an_id_the_gateway_no_longer_holds_starts_with_a_gap(
    gateway: tuple[httpx.AsyncClient, GatewayRuntime],
) -> None:
    http, _ = gateway
    headers = {**CATALOG_READER, "Last-Event-ID": "long-gone"}
    async with http.stream("GET", "/v1/live", headers=headers) as response:
        first = await EventStream(response).next()

    assert first["event"] == "gap"
    assert "id" not in first
    assert orjson.loads(first["data"])["last_event_id"] == "long-gone"


async def test_a_quiet_stream_has_heartbeats(
    gateway: tuple[httpx.AsyncClient, GatewayRuntime],
) -> None:
    http, _ = gateway
    headers = auth("pricing:finance")
    async with http.stream("GET", "/v1/live", headers=headers) as response:
        stream = EventStream(response)
        found = await stream.next()
        while "comment" not in found:
            found = await stream.next()

    assert found == {"comment": "heartbeat"}


async def test_a_client_that_stops_reading_is_dropped_and_one_that_reads_is_not(
    view_settings: Settings,
) -> None:
    settings = view_settings.model_copy(update={"live_client_queue": 64})
    events, size = 1500, 8192
    async with served(settings) as (http, runtime):
        port = http.base_url.port
        stalled = socket.socket()
        # A small receive buffer, never read: the gateway's writes soon back up.
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", port))
        bearer = f"Authorization: Bearer {token('catalog:read')}"
        stalled.sendall(f"GET /v1/live HTTP/1.1\r\nHost: gw\r\n{bearer}\r\n\r\n".encode())
        try:
            async with http.stream("GET", "/v1/live", headers=CATALOG_READER) as response:
                await clients(runtime, 2)
                # Kept here: a stream nobody refers to any more is closed when collected.
                stream = EventStream(response)
                reader = asyncio.create_task(_count_events(stream, events))
                padding = "x" * size
                for n in range(events):
                    data = orjson.dumps({"id": f"bulk-{n}", "type": "test.bulk.v1", "pad": padding})
                    runtime.live.publish(
                        event_id=f"bulk-{n}",
                        topic="catalog.events",
                        event_type="test.bulk.v1",
                        data=data,
                    )
                    await asyncio.sleep(0.001)
                read = await asyncio.wait_for(reader, timeout=60)

                assert runtime.live.dropped == 1
                assert runtime.live.clients == 1
                assert read == events
            stalled_bytes = await asyncio.to_thread(_read_to_the_end, stalled)
        finally:
            stalled.close()

    # The stalled client got what was already on its way, then the end of its stream.
    assert stalled_bytes.endswith(b"0\r\n\r\n")
    assert stalled_bytes.count(b"\nid: bulk-") < events


async def _count_events(stream: EventStream, wanted: int) -> int:
    count = 0
    while count < wanted:
        if "id" in await stream.next(timeout_s=30):
            count += 1
    return count


def _read_to_the_end(sock: socket.socket) -> bytes:
    """Everything the server sent until it ended the chunked stream."""
    sock.settimeout(10)
    received = bytearray()
    while not received.endswith(b"0\r\n\r\n"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        received += chunk
    return bytes(received)


@pytest.mark.parametrize(
    ("params", "headers", "status", "loc"),
    [
        ({"topic": "billing.events"}, CATALOG_READER, 422, ["query", "topic"]),
        ({}, {**CATALOG_READER, "Last-Event-ID": "x" * 129}, 422, ["header", "Last-Event-ID"]),
        ({"topic": "pricing.events"}, CATALOG_READER, 403, None),
        ({"topic": "pricing.events"}, auth("pricing:read"), 403, None),
        ({}, auth("pricing:read"), 403, None),
        ({}, auth("feedback:ingest"), 403, None),
        ({}, {}, 401, None),
    ],
)
async def test_bad_requests_are_problems(
    gateway: tuple[httpx.AsyncClient, GatewayRuntime],
    params: dict[str, str],
    headers: dict[str, str],
    status: int,
    loc: list[str] | None,
) -> None:
    http, _ = gateway

    response = await http.get("/v1/live", params=params, headers=headers)

    body = assert_problem(response, status)
    if loc is not None:
        assert body["errors"][0]["loc"] == loc
    if params.get("topic") == "pricing.events":
        assert body["required_scope"] == "pricing:finance"
