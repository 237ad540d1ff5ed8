"""Routing through the gateway to a real upstream served by uvicorn."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from fastapi.staticfiles import StaticFiles

from gateway.app import create_app
from gateway.forwarding import exchange_timeout
from gateway.proxy import shadowed_by_routing
from shared.settings import Settings
from tests.gateway.conftest import Ticks
from tests.support import assert_problem, auth, running

READER = auth("catalog:read")


@pytest.fixture
def settings(make_settings: Callable[..., Settings], upstream_port: int) -> Settings:
    return make_settings(catalog_port=upstream_port, upstream_timeout_s=0.5)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(settings, services=["catalog"])) as http:
        yield http


def seen_headers(response: httpx.Response) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in response.json()["headers"]:
        headers.setdefault(name, []).append(value)
    return headers


async def test_a_get_reaches_the_service_path_with_its_query(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/v1/catalog/products/a%2Fb?limit=2&q=two%20words&q=x", headers=READER
    )

    assert response.status_code == 200, response.text
    seen = response.json()
    assert seen["method"] == "GET"
    assert seen["raw_path"] == "/v1/products/a%2Fb"
    assert seen["query"] == "limit=2&q=two%20words&q=x"
    assert response.headers["x-upstream"] == "echo"


async def test_body_auth_and_ids_reach_the_service_and_hop_by_hop_headers_do_not(
    client: httpx.AsyncClient, upstream_port: int
) -> None:
    headers = {
        **auth("catalog:write"),
        "X-Request-ID": "req-42",
        "X-Correlation-ID": "corr-7",
        "Content-Type": "application/json",
        "X-Custom": "kept",
        "Connection": "x-hop-named",
        "X-Hop-Named": "dropped",
        "Keep-Alive": "timeout=5",
        "TE": "trailers",
        "Upgrade": "h2c",
        "Proxy-Authorization": "Basic c2VjcmV0",
    }

    response = await client.post("/v1/catalog/products", content=b'{"sku": "A1"}', headers=headers)

    assert response.status_code == 201, response.text
    seen = response.json()
    assert seen["method"] == "POST"
    assert seen["body"] == '{"sku": "A1"}'
    upstream = seen_headers(response)
    assert upstream["authorization"] == [headers["Authorization"]]
    assert upstream["x-request-id"] == ["req-42"]
    assert upstream["x-correlation-id"] == ["corr-7"]
    assert upstream["x-custom"] == ["kept"]
    assert upstream["x-forwarded-for"] == ["127.0.0.1"]
    assert upstream["x-forwarded-proto"] == ["http"]
    assert upstream["content-length"] == ["13"]
    assert upstream["host"] == [f"127.0.0.1:{upstream_port}"]
    for hop in ("x-hop-named", "keep-alive", "te", "upgrade", "proxy-authorization"):
        assert hop not in upstream, hop
    # The gateway's own connection to the service is its business, not the caller's.
    assert upstream["connection"] == ["keep-alive"]
    # The answer keeps the upstream's own headers, minus hop-by-hop ones, with one set of ids.
    assert response.headers["x-upstream"] == "echo"
    assert "keep-alive" not in response.headers
    assert response.headers.get_list("x-request-id") == ["req-42"]
    assert len(response.headers.get_list("content-length")) == 1


async def test_a_request_id_is_made_when_the_client_sends_none(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/v1/catalog/products", headers={**READER, "Accept-Encoding": "identity"}
    )

    upstream = seen_headers(response)
    # The caller's own headers, and none of the gateway's httpx defaults beside them.
    assert upstream["accept-encoding"] == ["identity"]
    assert upstream["user-agent"] == [f"python-httpx/{httpx.__version__}"]
    assert upstream["x-request-id"] == [response.headers["x-request-id"]]
    assert upstream["x-correlation-id"] == [response.headers["x-request-id"]]


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
async def test_every_method_is_forwarded(client: httpx.AsyncClient, method: str) -> None:
    response = await client.request(method, "/v1/catalog/things/1", headers=auth("admin"))

    assert response.status_code in {200, 201}
    assert response.json()["method"] == method
    assert response.json()["raw_path"] == "/v1/things/1"


async def test_a_compressed_answer_passes_through_intact(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/v1/catalog/gzipped", headers={**READER, "Accept-Encoding": "gzip"}
    )

    assert response.headers["content-encoding"] == "gzip"
    assert response.json() == {"compressed": True}


async def test_a_key_created_through_the_gateway_can_call_its_service(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post(
        "/v1/api-keys",
        json={"name": "reader", "owner": "storefront team", "scopes": ["catalog:read"]},
        headers=auth("admin"),
    )
    token = await client.post("/v1/auth/token", json={"api_key": created.json()["api_key"]})

    response = await client.get(
        "/v1/catalog/products",
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
    )

    assert response.status_code == 200
    assert seen_headers(response)["authorization"] == [f"Bearer {token.json()['access_token']}"]


async def test_no_token_is_401_and_a_bad_token_is_401(client: httpx.AsyncClient) -> None:
    anonymous = await client.get("/v1/catalog/products")
    forged = await client.get("/v1/catalog/products", headers={"Authorization": "Bearer x.y.z"})

    assert_problem(anonymous, 401, detail_has="Bearer")
    assert_problem(forged, 401, detail_has="invalid")
    for refused in (anonymous, forged):
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert refused.headers["x-request-id"]


async def test_a_token_without_any_scope_of_the_service_is_403(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/v1/catalog/products", headers=auth("pricing:read feedback:ingest")
    )

    problem = assert_problem(response, 403, detail_has="catalog:*")
    assert problem["required_scope"] == "catalog:*"


async def test_an_unknown_service_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/nosuch/products", headers=auth("admin"))

    assert_problem(response, 404)


@pytest.mark.parametrize("path", ["/v1/catalog/a/%2E%2E/b", "/v1/catalog/%2e%2e/%2e%2e/metrics"])
async def test_dot_segments_are_refused(client: httpx.AsyncClient, path: str) -> None:
    request = client.build_request("GET", "http://testserver", headers=READER)
    request.url = request.url.copy_with(raw_path=path.encode())

    response = await client.send(request)

    assert_problem(response, 404)


async def test_a_refused_connection_is_502(
    make_settings: Callable[..., Settings], dead_port: int
) -> None:
    settings = make_settings(catalog_port=dead_port)
    async with running(create_app(settings, services=["catalog"])) as client:
        response = await client.get("/v1/catalog/products", headers=READER)

    assert_problem(response, 502, detail_has="the catalog service is unavailable")


def test_the_exchange_limit_is_kept_as_set_not_rounded_up_to_a_second() -> None:
    """aiohttp's default rounds a limit of 5 s or more up to the loop clock's next whole
    second, so the default 5 s limit answered its 504 after 5.6-6.0 s."""
    for limit_s in (0.5, 5.0, 30.0):
        timeout = exchange_timeout(limit_s, 1.0)
        assert (timeout.total, timeout.sock_connect) == (limit_s, 1.0)
        # No limit is ever at or past the threshold from which aiohttp rounds up.
        assert timeout.ceil_threshold == math.inf


async def test_a_slow_service_is_504(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/catalog/slow", headers=READER)

    problem = assert_problem(response, 504, detail_has="0.5 s")
    assert problem["service"] == "catalog"


async def test_a_body_over_the_limit_is_413(
    make_settings: Callable[..., Settings], upstream_port: int
) -> None:
    settings = make_settings(catalog_port=upstream_port, max_body_bytes=1024)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"x" * 512

    async with running(create_app(settings, services=["catalog"])) as client:
        declared = await client.post("/v1/catalog/products", content=b"x" * 2000, headers=READER)
        streamed = await client.post("/v1/catalog/products", content=chunks(), headers=READER)
        within = await client.post("/v1/catalog/products", content=b"x" * 1000, headers=READER)

    assert_problem(declared, 413, detail_has="1024 bytes")
    assert_problem(streamed, 413, detail_has="1024 bytes")
    assert within.status_code == 201


async def test_routed_calls_are_rate_limited_per_caller(
    make_settings: Callable[..., Settings], upstream_port: int
) -> None:
    settings = make_settings(catalog_port=upstream_port, rate_limit_burst=3, rate_limit_per_s=0.5)
    ticks = Ticks()
    app = create_app(settings, services=["catalog"], monotonic=ticks)
    async with running(app) as client:
        answers = [await client.get("/v1/catalog/products", headers=READER) for _ in range(3)]
        limited = await client.get("/v1/catalog/products", headers=READER)
        ticks.now += 2
        allowed = await client.get("/v1/catalog/products", headers=READER)

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert_problem(limited, 429)
    assert limited.headers["retry-after"] == "2"
    assert allowed.status_code == 200


async def test_readiness_lists_upstreams_but_depends_on_the_database_only(
    make_settings: Callable[..., Settings], upstream_port: int, dead_port: int
) -> None:
    settings = make_settings(catalog_port=upstream_port, pricing_port=dead_port)
    async with running(create_app(settings, services=["catalog", "pricing"])) as client:
        ready = await client.get("/readyz", headers=auth("admin"))
        alive = await client.get("/healthz")
        metrics = await client.get("/metrics")

    assert ready.status_code == 200
    body: dict[str, Any] = ready.json()
    assert body["database"] == "ok"
    assert body["status"] == "ready"
    assert body["upstreams"]["catalog"] == "ok"
    assert body["upstreams"]["pricing"].startswith("unreachable")
    assert alive.json() == {"status": "ok"}
    assert 'route="/readyz",service="gateway"' in metrics.text


async def test_metrics_label_routed_calls_by_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/v1/catalog/products/123", headers=READER)

    metrics = await client.get("/metrics")

    assert 'route="/v1/catalog/{path:path}",service="gateway"' in metrics.text
    assert "/v1/catalog/products/123" not in metrics.text


async def test_every_registered_service_is_routed_by_default(
    make_settings: Callable[..., Settings], upstream_port: int
) -> None:
    async with running(create_app(make_settings(catalog_port=upstream_port))) as client:
        response = await client.get("/v1/catalog/products", headers=READER)

    assert response.status_code == 200


async def test_a_method_routing_does_not_take_is_405_with_the_routed_ones(
    client: httpx.AsyncClient,
) -> None:
    response = await client.request("TRACE", "/v1/catalog/products", headers=READER)

    assert_problem(response, 405)
    assert "GET" in response.headers["allow"]
    assert "DELETE" in response.headers["allow"]


async def test_the_document_lists_each_routed_operation_with_what_the_gateway_answers(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()

    operations = document["paths"]["/v1/catalog/{path}"]
    assert set(operations) == {"get", "post", "put", "patch", "delete", "head", "options"}
    for operation in operations.values():
        assert {"401", "403", "429", "502", "504"} <= set(operation["responses"])
        assert operation["security"]


def test_own_routes_that_routed_paths_would_shadow_are_found() -> None:
    router = APIRouter()
    for path in (
        "/v1/catalog/stats",
        "/v1/{kind}/stats",
        "/{rest:path}",
        "/v1/live",
        "/v1/catalog",
    ):
        router.add_api_route(path, lambda: None)
    router.mount("/v1", StaticFiles(directory="."))
    router.mount("/static", StaticFiles(directory="."))

    shadowed = shadowed_by_routing(router.routes, ["catalog", "pricing"])

    assert shadowed == ["/v1/catalog/stats", "/v1/{kind}/stats", "/{rest:path}", "/v1"]
