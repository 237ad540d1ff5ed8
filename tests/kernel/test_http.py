"""The HTTP edge every service shares: ids, body cap, auth, problem+json, probes, metrics."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator

import httpx
import jwt
import orjson
import pytest
from fastapi import APIRouter
from prometheus_client.parser import text_string_to_metric_families

from shared.app import ServiceSpec, create_service_app
from shared.auth import ISSUER
from shared.broker import free_port
from shared.db import new_metadata
from tests.kernel.sample_service import create_app
from tests.support import TEST_SECRET, assert_problem, auth, running

pytestmark = pytest.mark.broker

WRITE = auth("catalog:write")
MAX_BODY = 2048
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")
BEARER_CHALLENGE = 'Bearer realm="productops"'


@pytest.fixture
async def client(make_settings) -> AsyncIterator[httpx.AsyncClient]:
    """The sample service with a 2 KiB body cap and no consumer."""
    app = create_app(make_settings(max_body_bytes=MAX_BODY), handlers={})
    async with running(app) as client:
        yield client


def note(note_id: str = "n-1", text: str = "hello") -> dict:
    return {"id": note_id, "text": text}


# --- Request and correlation ids ---------------------------------------------------------


async def test_request_id_is_generated_when_absent(client):
    first = await client.get("/healthz")
    second = await client.get("/healthz")
    for response in (first, second):
        assert response.status_code == 200
        assert GENERATED_ID.match(response.headers["x-request-id"])
        # Without a correlation id, the request starts its own chain.
        assert response.headers["x-correlation-id"] == response.headers["x-request-id"]
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_request_and_correlation_ids_are_echoed(client):
    response = await client.get(
        "/healthz", headers={"X-Request-ID": "req-1.a:b_C", "X-Correlation-ID": "order-77"}
    )
    assert response.headers["x-request-id"] == "req-1.a:b_C"
    assert response.headers["x-correlation-id"] == "order-77"

    response = await client.get("/healthz", headers={"X-Correlation-ID": "order-78"})
    assert GENERATED_ID.match(response.headers["x-request-id"])
    assert response.headers["x-correlation-id"] == "order-78"


@pytest.mark.parametrize(
    "unsafe",
    [
        pytest.param("r" * 300, id="too-long"),
        pytest.param("has spaces in it", id="spaces"),
        pytest.param("new\\line", id="backslash"),
        pytest.param("<script>", id="markup"),
        pytest.param("", id="empty"),
    ],
)
async def test_unsafe_ids_are_replaced(client, unsafe):
    response = await client.get(
        "/healthz", headers={"X-Request-ID": unsafe, "X-Correlation-ID": unsafe}
    )
    request_id = response.headers["x-request-id"]
    assert GENERATED_ID.match(request_id)
    assert response.headers["x-correlation-id"] == request_id


async def test_ids_are_on_error_responses_too(client):
    response = await client.post(
        "/v1/notes", json=note(), headers={"X-Request-ID": "req-err", "X-Correlation-ID": "c-err"}
    )
    assert_problem(response, 401)
    assert response.headers["x-request-id"] == "req-err"
    assert response.headers["x-correlation-id"] == "c-err"


# --- Body cap ----------------------------------------------------------------------------


def assert_too_large(response: httpx.Response) -> dict:
    body = assert_problem(response, 413, detail_has=str(MAX_BODY))
    assert body["type"].endswith("/payload-too-large")
    assert response.headers["x-request-id"]
    return body


async def test_body_over_the_cap_by_content_length_is_413(client):
    response = await client.post("/v1/notes", json=note(text="x" * 3000), headers=WRITE)
    assert assert_too_large(response)["max_bytes"] == MAX_BODY
    # Refused before anything else is looked at, authentication included.
    assert_too_large(await client.post("/v1/notes", json=note(text="x" * 3000)))


async def test_body_exactly_at_the_cap_is_accepted(client):
    raw = orjson.dumps(note("at-cap"))
    raw += b" " * (MAX_BODY - len(raw))
    assert len(raw) == MAX_BODY
    response = await client.post(
        "/v1/notes", content=raw, headers={**WRITE, "Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text


async def chunks(total: int, size: int = 500) -> AsyncIterator[bytes]:
    """A JSON body streamed without Content-Length (chunked transfer encoding)."""
    raw = orjson.dumps(note("streamed"))
    raw += b" " * (total - len(raw))
    for start in range(0, len(raw), size):
        yield raw[start : start + size]


async def test_small_chunked_body_is_accepted(client):
    response = await client.post(
        "/v1/notes",
        content=chunks(MAX_BODY - 100),
        headers={**WRITE, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text


async def test_chunked_body_over_the_cap_is_413(client):
    for headers in (WRITE, {}):
        response = await client.post(
            "/v1/notes",
            content=chunks(MAX_BODY * 3),
            headers={**headers, "Content-Type": "application/json"},
        )
        assert "content-length" not in response.request.headers
        assert_too_large(response)


# --- Authentication and scopes -----------------------------------------------------------


def expired_token() -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "k", "scope": "catalog:write", "iat": now - 90, "exp": now - 30}
    return jwt.encode(claims, TEST_SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    ("headers", "detail_has"),
    [
        pytest.param({}, "Bearer", id="no-header"),
        pytest.param({"Authorization": "Basic xyz"}, "Bearer", id="basic"),
        pytest.param({"Authorization": "Bearer "}, "Bearer", id="empty-bearer"),
        pytest.param({"Authorization": "Bearer not.a.token"}, "invalid", id="bad-token"),
        pytest.param({"Authorization": "Bearer " + "x" * 2000}, "invalid", id="long-junk"),
        pytest.param({"Authorization": f"Bearer {expired_token()}"}, "expired", id="expired"),
    ],
)
async def test_missing_or_bad_credentials_are_401(client, headers, detail_has):
    response = await client.post("/v1/notes", json=note(), headers=headers)
    body = assert_problem(response, 401, detail_has=detail_has)
    assert body["type"].endswith("/unauthorized")
    assert response.headers["www-authenticate"] == BEARER_CHALLENGE


async def test_bearer_scheme_is_case_insensitive(client):
    token = WRITE["Authorization"].removeprefix("Bearer ")
    response = await client.post(
        "/v1/notes", json=note("lower-bearer"), headers={"Authorization": f"bearer {token}"}
    )
    assert response.status_code == 201, response.text


async def test_missing_scope_is_403_naming_it(client):
    response = await client.post("/v1/notes", json=note(), headers=auth("catalog:read"))
    body = assert_problem(response, 403, detail_has="catalog:write")
    assert body["required_scope"] == "catalog:write"
    assert body["type"].endswith("/missing-scope")
    assert "www-authenticate" not in response.headers


async def test_admin_holds_every_scope(client):
    response = await client.post("/v1/notes", json=note("by-admin"), headers=auth("admin"))
    assert response.status_code == 201, response.text
    assert response.json() == {"id": "by-admin"}


# --- Validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "loc"),
    [
        pytest.param({**note(), "extra": 1}, ["body", "extra"], id="extra-field"),
        pytest.param({"id": "n-1"}, ["body", "text"], id="missing-field"),
        pytest.param({"id": 5, "text": "t"}, ["body", "id"], id="wrong-type"),
        pytest.param({"id": "n-1", "text": None}, ["body", "text"], id="null"),
    ],
)
async def test_invalid_body_is_422_with_errors(client, payload, loc):
    response = await client.post("/v1/notes", json=payload, headers=WRITE)
    body = assert_problem(response, 422, detail_has=".".join(loc))
    assert body["type"].endswith("/invalid-input")
    assert loc in [error["loc"] for error in body["errors"]]
    for error in body["errors"]:
        assert set(error) == {"loc", "msg"}
        assert all(isinstance(part, str) for part in error["loc"])
        assert error["msg"]


@pytest.mark.parametrize(
    ("url", "loc"),
    [
        pytest.param("/v1/notes?q=ab%00cd", ["query", "q"], id="query"),
        pytest.param("/v1/notes?limit=5&brand=%00", ["query", "brand"], id="second-parameter"),
        pytest.param("/v1/notes/a%00b", ["path"], id="path"),
    ],
)
async def test_a_nul_character_in_the_path_or_query_is_422(client, url, loc):
    response = await client.get(url, headers=WRITE)
    body = assert_problem(response, 422, detail_has="NUL character")
    assert body["type"].endswith("/invalid-input")
    assert body["errors"] == [{"loc": loc, "msg": "must not contain the NUL character"}]
    assert response.headers["x-request-id"]


async def test_a_nul_character_in_the_body_is_422_naming_its_place(client):
    response = await client.post("/v1/notes", json=note(text="a\x00b"), headers=WRITE)
    body = assert_problem(response, 422, detail_has="body.text: must not contain the NUL")
    assert body["type"].endswith("/invalid-input")
    assert body["errors"] == [
        {"loc": ["body", "text"], "msg": "must not contain the NUL character"}
    ]
    # The same body without it is taken: the note was not kept before.
    assert (await client.post("/v1/notes", json=note(), headers=WRITE)).status_code == 201


async def test_a_lone_surrogate_in_the_body_is_422(client):
    body = b'{"id": "n-1", "text": "half \\udbff of a pair"}'
    response = await client.post(
        "/v1/notes", content=body, headers={**WRITE, "Content-Type": "application/json"}
    )
    problem = assert_problem(response, 422, detail_has="body.text: must not contain a lone")
    assert [error["loc"] for error in problem["errors"]] == [["body", "text"]]


async def test_a_backslash_before_u0000_in_the_body_is_no_nul(client):
    response = await client.post("/v1/notes", json=note(text="C:\\u0000"), headers=WRITE)
    assert response.status_code == 201, response.text


async def test_an_escaped_percent_before_two_zeros_is_not_a_nul(client):
    # `%2500` is the text "%00", which a parameter may hold.
    response = await client.get("/v1/notes?q=%2500", headers=WRITE)
    assert response.status_code == 405  # the sample service lists no notes


async def test_unparseable_json_is_422(client):
    response = await client.post(
        "/v1/notes",
        content=b'{"id": "n-1", ',
        headers={**WRITE, "Content-Type": "application/json"},
    )
    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"][0] == "body"


async def test_missing_body_is_422(client):
    response = await client.post("/v1/notes", headers=WRITE)
    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"] == ["body"]


# --- Routing errors ----------------------------------------------------------------------


async def test_unknown_path_is_a_404_problem(client):
    response = await client.get("/v1/nothing-here")
    body = assert_problem(response, 404)
    assert body["type"].endswith("/not-found")
    assert response.headers["x-request-id"]


async def test_wrong_method_is_a_405_problem(client):
    response = await client.get("/v1/notes", headers=WRITE)
    assert_problem(response, 405)
    assert response.headers["allow"] == "POST"


# --- Unexpected errors and metrics, on a service of our own -------------------------------

boom_router = APIRouter(prefix="/v1")  # routers carry their own version prefix


@boom_router.get("/boom")
async def explode() -> dict:
    raise RuntimeError("database password is hunter2 at /srv/secret.py line 7")


@boom_router.get("/things/{thing_id}")
async def get_thing(thing_id: str) -> dict:
    return {"id": thing_id}


@pytest.fixture
async def boom_client(make_settings) -> AsyncIterator[httpx.AsyncClient]:
    spec = ServiceSpec(name="boom", title="Boom", metadata=new_metadata(), routers=[boom_router])
    app = create_service_app(spec, make_settings())
    async with app.router.lifespan_context(app):
        # Starlette re-raises an unhandled error after sending the 500; a real server logs
        # it, so the in-process client should not raise it either.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def test_unexpected_error_is_a_500_problem_without_internals(boom_client):
    response = await boom_client.get("/v1/boom")
    body = assert_problem(response, 500, detail_has="unexpected error")
    text = response.text
    for leak in ("Traceback", "RuntimeError", "hunter2", "secret.py", 'File "'):
        assert leak not in text
    assert set(body) == {"type", "title", "status", "detail"}


async def test_service_keeps_answering_after_an_unexpected_error(boom_client):
    await boom_client.get("/v1/boom")
    response = await boom_client.get("/v1/things/t-1")
    assert response.status_code == 200
    assert response.json() == {"id": "t-1"}


def request_counts(metrics_text: str, service: str) -> dict[tuple[str, str, str], float]:
    """`productops_http_requests_total` samples of one service: (method, route, status)."""
    counts = {}
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name != "productops_http_requests_total":
                continue
            labels = sample.labels
            if labels["service"] == service:
                counts[labels["method"], labels["route"], labels["status"]] = sample.value
    return counts


async def test_metrics_count_requests_by_route_template(boom_client):
    for thing in ("abc-123", "def-456", "ghi-789"):
        assert (await boom_client.get(f"/v1/things/{thing}")).status_code == 200
    await boom_client.get("/v1/boom")
    await boom_client.get("/v1/no/such/route")

    response = await boom_client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "productops_http_requests_total" in response.text

    counts = request_counts(response.text, "boom")
    assert counts[("GET", "/v1/things/{thing_id}", "200")] >= 3, counts
    assert counts[("GET", "/v1/boom", "500")] >= 1, counts
    assert counts[("GET", "unmatched", "404")] >= 1, counts
    routes = {route for _, route, _ in counts}
    assert not any(raw in route for route in routes for raw in ("abc-123", "def-456", "no/such")), (
        routes
    )
    assert "productops_http_request_duration_seconds_bucket" in response.text


async def test_metrics_label_the_sample_service(client):
    await client.post("/v1/notes", json=note("metered"), headers=WRITE)
    await client.post("/v1/notes", json=note("metered-2"), headers=auth("catalog:read"))
    await client.get("/v1/notes")
    counts = request_counts((await client.get("/metrics")).text, "sample")
    assert counts[("POST", "/v1/notes", "201")] >= 1, counts
    assert counts[("POST", "/v1/notes", "403")] >= 1, counts
    assert counts[("GET", "/v1/notes", "405")] >= 1, counts


# --- Probes ------------------------------------------------------------------------------


async def test_healthz(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_dependencies(make_settings, broker):
    app = create_app(make_settings())  # with its consumer
    async with running(app) as client:
        response = await client.get("/readyz", headers=auth("admin"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["service"] == "sample"
    assert body["database"] == "ok"
    assert body["broker"] == "ok"
    assert body["outbox_backlog"] == 0
    assert body["consumer"]["group"] == "sample"
    assert {"lag", "handled", "dead_lettered", "last_error"} <= set(body["consumer"])
    assert set(body["relay"]) == {"published", "last_error"}


async def test_readyz_is_503_when_the_broker_is_unreachable(make_settings):
    settings = make_settings(kafka_bootstrap=f"127.0.0.1:{free_port()}")
    app = create_app(settings, handlers={})
    async with running(app) as client:
        response = await client.get("/readyz", headers=auth("admin"))
        # Liveness does not depend on the broker: restarting would not bring it back.
        assert (await client.get("/healthz")).status_code == 200
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "not ready"
    assert body["broker"] == "unreachable"
    assert body["database"] == "ok"
    # No handlers of its own, yet a consumer: every service hears API key revocations.
    assert body["consumer"]["group"] == "sample"
