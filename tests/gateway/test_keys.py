"""Token exchange and API key management, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from gateway import keys
from gateway.app import create_app
from gateway.tables import metadata
from shared.auth import SCOPES, Principal, TokenSigner
from shared.db import Database
from shared.errors import Forbidden
from shared.settings import Settings
from tests.gateway.conftest import Ticks
from tests.support import TEST_SECRET, assert_problem, auth, running

ADMIN = auth("admin")


@pytest.fixture
def settings(make_settings: Callable[..., Settings], database_url: str) -> Settings:
    return make_settings(gateway_database_url=database_url)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(settings, services=[])) as http:
        yield http


async def exchange(client: httpx.AsyncClient, api_key: str) -> httpx.Response:
    return await client.post("/v1/auth/token", json={"api_key": api_key})


async def create(
    client: httpx.AsyncClient, name: str, scopes: list[str], owner: str = "ops team"
) -> dict[str, Any]:
    response = await client.post(
        "/v1/api-keys", json={"name": name, "owner": owner, "scopes": scopes}, headers=ADMIN
    )
    assert response.status_code == 201, response.text
    return response.json()


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


async def test_bootstrap_key_exchanges_for_an_admin_token(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await exchange(client, settings.bootstrap_admin_key)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.token_ttl_s
    assert body["scope"] == "admin"
    principal = TokenSigner(TEST_SECRET).verify(body["access_token"])
    assert principal.subject == keys.bootstrap_id(settings.bootstrap_admin_key)
    assert principal.owner == "admin"
    listed = await client.get("/v1/api-keys", headers=bearer(body["access_token"]))
    assert listed.status_code == 200


async def test_the_bootstrap_key_owner_comes_from_the_settings(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    settings = make_settings(gateway_database_url=database_url, admin_owner="Dana Ops")
    async with running(create_app(settings, services=[])) as client:
        response = await exchange(client, settings.bootstrap_admin_key)

    principal = TokenSigner(TEST_SECRET).verify(response.json()["access_token"])
    assert principal.owner == "Dana Ops"


@pytest.mark.parametrize("owner", ["", "o" * 101])
def test_a_bootstrap_key_owner_outside_1_to_100_characters_is_refused(
    make_settings: Callable[..., Settings], owner: str
) -> None:
    with pytest.raises(ValueError, match="admin_owner"):
        make_settings(admin_owner=owner)


@pytest.mark.parametrize(
    "api_key",
    ["nope", "po_0123456789abcdef_wrong-secret", "po_zz_x", "admin-key-" + "k" * 39, "é" * 20],
)
async def test_a_bad_key_is_401(client: httpx.AsyncClient, api_key: str) -> None:
    response = await exchange(client, api_key)

    assert_problem(response, 401, detail_has=keys.INVALID_KEY)


@pytest.mark.parametrize(
    "body",
    [{}, {"api_key": ""}, {"api_key": 5}, {"api_key": "x", "scope": "admin"}, ["api_key"]],
)
async def test_a_malformed_token_request_is_422(client: httpx.AsyncClient, body: Any) -> None:
    response = await client.post("/v1/auth/token", json=body)

    problem = assert_problem(response, 422)
    assert problem["errors"]


async def test_a_token_request_that_is_not_json_is_415(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/auth/token", content=b"api_key=x", headers={"Content-Type": "text/plain"}
    )

    assert_problem(response, 415, detail_has="application/json")


async def test_a_created_key_is_shown_once_and_mints_tokens_with_only_its_scopes(
    client: httpx.AsyncClient,
) -> None:
    created = await create(
        client, "  storefront  ", ["pricing:read", "catalog:read"], owner="  Web team  "
    )

    assert set(created) == {"id", "name", "owner", "scopes", "api_key"}
    assert created["name"] == "storefront"
    assert created["owner"] == "Web team"
    assert created["scopes"] == ["catalog:read", "pricing:read"]
    assert created["api_key"].startswith(f"po_{created['id']}_")
    token = await exchange(client, created["api_key"])
    assert token.status_code == 200
    assert token.json()["scope"] == "catalog:read pricing:read"
    principal = TokenSigner(TEST_SECRET).verify(token.json()["access_token"])
    assert principal == Principal(
        subject=created["id"],
        name="storefront",
        owner="Web team",
        scopes=frozenset({"catalog:read", "pricing:read"}),
    )
    forbidden = await client.get("/v1/api-keys", headers=bearer(token.json()["access_token"]))
    assert_problem(forbidden, 403, detail_has="admin")


async def test_listing_pages_through_keys_and_never_shows_secrets(
    client: httpx.AsyncClient,
) -> None:
    made = [
        await create(client, f"key {n}", ["catalog:read"], owner=f"owner {n}") for n in range(3)
    ]
    await exchange(client, made[0]["api_key"])

    first = await client.get("/v1/api-keys", params={"limit": 2}, headers=ADMIN)
    assert first.status_code == 200
    page = first.json()
    assert page["next_cursor"]
    second = await client.get(
        "/v1/api-keys", params={"limit": 2, "cursor": page["next_cursor"]}, headers=ADMIN
    )
    rest = second.json()
    assert rest["next_cursor"] is None
    items = page["items"] + rest["items"]
    assert [item["id"] for item in items] == [key["id"] for key in made]
    assert [item["owner"] for item in items] == ["owner 0", "owner 1", "owner 2"]
    assert set(items[0]) == {
        "id",
        "name",
        "owner",
        "scopes",
        "created_at",
        "revoked_at",
        "last_used_at",
    }
    assert items[0]["last_used_at"] is not None
    assert items[1]["last_used_at"] is None
    assert items[0]["created_at"].endswith(("Z", "+00:00"))
    secrets = {key["api_key"].split("_", 2)[2] for key in made}
    assert not any(secret in first.text + second.text for secret in secrets)


@pytest.mark.parametrize("cursor", ["not-a-cursor!", "WzFd", "eyJhIjoxfQ"])
async def test_listing_with_a_bad_cursor_is_422(client: httpx.AsyncClient, cursor: str) -> None:
    response = await client.get("/v1/api-keys", params={"cursor": cursor}, headers=ADMIN)

    problem = assert_problem(response, 422, detail_has="cursor is malformed")
    assert problem["errors"] == [{"loc": ["query", "cursor"], "msg": "malformed cursor"}]


async def test_a_revoked_key_mints_no_more_tokens_and_its_earlier_tokens_are_refused(
    client: httpx.AsyncClient,
) -> None:
    created = await create(client, "ops", ["admin"])
    earlier = (await exchange(client, created["api_key"])).json()["access_token"]

    revoked = await client.delete(f"/v1/api-keys/{created['id']}", headers=ADMIN)

    assert revoked.status_code == 204
    assert revoked.content == b""
    assert_problem(await exchange(client, created["api_key"]), 401, detail_has=keys.INVALID_KEY)
    # Issue 12: a revoked key's tokens are refused too, not left to expire.
    still = await client.get("/v1/api-keys", headers=bearer(earlier))
    assert_problem(still, 401, detail_has="revoked")
    listed = {
        item["id"]: item
        for item in (await client.get("/v1/api-keys", headers=ADMIN)).json()["items"]
    }
    assert listed[created["id"]]["revoked_at"] is not None


async def test_revoking_twice_is_409_and_an_unknown_key_is_404(client: httpx.AsyncClient) -> None:
    created = await create(client, "once", ["catalog:read"])
    await client.delete(f"/v1/api-keys/{created['id']}", headers=ADMIN)

    again = await client.delete(f"/v1/api-keys/{created['id']}", headers=ADMIN)
    unknown = await client.delete("/v1/api-keys/0123456789abcdef", headers=ADMIN)

    assert_problem(again, 409, detail_has="already revoked")
    assert_problem(unknown, 404, detail_has="0123456789abcdef")


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/api-keys"), ("POST", "/v1/api-keys"), ("DELETE", "/v1/api-keys/abc")],
)
async def test_key_management_needs_a_token_and_the_admin_scope(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    body = {"name": "x", "owner": "o", "scopes": ["catalog:read"]} if method == "POST" else None

    anonymous = await client.request(method, path, json=body)
    bad_token = await client.request(
        method, path, json=body, headers={"Authorization": "Bearer not.a.jwt"}
    )
    not_admin = await client.request(
        method, path, json=body, headers=auth("catalog:read catalog:write pricing:approve")
    )

    assert_problem(anonymous, 401, detail_has="Bearer")
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert_problem(bad_token, 401, detail_has="invalid")
    assert_problem(not_admin, 403, detail_has="admin")


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"name": "x", "owner": "o", "scopes": []}, "at least one scope"),
        ({"name": "x", "owner": "o", "scopes": ["catalog:read", "nope:x", "root"]}, "nope:x, root"),
        ({"name": "", "owner": "o", "scopes": ["catalog:read"]}, "name"),
        (
            {"name": "   ", "owner": "o", "scopes": ["catalog:read"]},
            "name: String should have at least 1",
        ),
        ({"name": "n" * 101, "owner": "o", "scopes": ["catalog:read"]}, "at most 100 characters"),
        ({"name": "x", "owner": "o"}, "scopes"),
        ({"owner": "o", "scopes": ["catalog:read"]}, "name"),
        ({"name": "x", "owner": "o", "scopes": "catalog:read"}, "scopes"),
        ({"name": "x", "owner": "o", "scopes": ["catalog:read"], "id": "mine"}, "id"),
        ({"name": "x", "scopes": ["catalog:read"]}, "owner"),
        ({"name": "x", "owner": None, "scopes": ["catalog:read"]}, "owner"),
        ({"name": "x", "owner": 7, "scopes": ["catalog:read"]}, "owner"),
        (
            {"name": "x", "owner": "", "scopes": ["catalog:read"]},
            "owner: String should have at least 1",
        ),
        (
            {"name": "x", "owner": " \t ", "scopes": ["catalog:read"]},
            "owner: String should have at least 1",
        ),
        (
            {"name": "x", "owner": "o" * 101, "scopes": ["catalog:read"]},
            "owner: String should have at most 100",
        ),
        (
            {"name": "x", "owner": "o", "scopes": ["catalog:read"] * 100},
            "scopes: List should have at most",
        ),
    ],
)
async def test_creating_a_key_with_bad_input_is_422(
    client: httpx.AsyncClient, body: dict[str, Any], detail: str
) -> None:
    response = await client.post("/v1/api-keys", json=body, headers=ADMIN)

    problem = assert_problem(response, 422, detail_has=detail)
    assert problem["errors"]
    listed = await client.get("/v1/api-keys", headers=ADMIN)
    assert listed.json()["items"] == []


async def test_the_published_schema_states_the_bounds_of_a_new_key(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    fields = document["components"]["schemas"]["KeyCreate"]["properties"]

    assert (fields["name"]["minLength"], fields["name"]["maxLength"]) == (1, keys.NAME_MAX)
    assert (fields["owner"]["minLength"], fields["owner"]["maxLength"]) == (1, keys.OWNER_MAX)
    assert fields["scopes"]["maxItems"] == len(SCOPES)


async def test_a_new_key_keeps_its_name_and_owner_without_surrounding_space(
    client: httpx.AsyncClient,
) -> None:
    body = {"name": "  ci bot ", "owner": "\tpat ", "scopes": ["catalog:read"]}
    made = await client.post("/v1/api-keys", json=body, headers=ADMIN)

    assert made.status_code == 201, made.text
    assert (made.json()["name"], made.json()["owner"]) == ("ci bot", "pat")


async def test_only_an_admin_grants_scopes_it_lacks(database_url: str) -> None:
    db = Database(database_url)
    await db.create_all([metadata])
    try:
        holder = Principal(subject="k1", name="pm", owner="pat", scopes=frozenset({"catalog:read"}))
        with pytest.raises(Forbidden, match="pricing:read"):
            await keys.create_key(
                db=db,
                creator=holder,
                name="x",
                owner="pat",
                scopes=["catalog:read", "pricing:read"],
                now=datetime.now(UTC),
            )
        created = await keys.create_key(
            db=db,
            creator=holder,
            name="x",
            owner="pat",
            scopes=["catalog:read"],
            now=datetime.now(UTC),
        )
        assert created.scopes == ["catalog:read"]
    finally:
        await db.dispose()


async def test_token_requests_are_rate_limited_per_client_ip(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    settings = make_settings(
        gateway_database_url=database_url, rate_limit_burst=3, rate_limit_per_s=0.5
    )
    ticks = Ticks()
    async with running(create_app(settings, services=[], monotonic=ticks)) as client:
        for _ in range(3):
            assert_problem(await exchange(client, "guess"), 401)

        limited = await exchange(client, settings.bootstrap_admin_key)
        ticks.now += 2  # one token back, at half a token a second
        allowed = await exchange(client, settings.bootstrap_admin_key)

    assert_problem(limited, 429, detail_has="token requests")
    assert limited.headers["retry-after"] == "2"
    assert allowed.status_code == 200


async def test_key_management_is_rate_limited_per_caller(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    settings = make_settings(
        gateway_database_url=database_url, rate_limit_burst=3, rate_limit_per_s=0.5
    )
    ticks = Ticks()
    async with running(create_app(settings, services=[], monotonic=ticks)) as client:
        for _ in range(3):
            assert (await client.get("/v1/api-keys", headers=ADMIN)).status_code == 200

        limited = await client.get("/v1/api-keys", headers=ADMIN)
        other = await client.get("/v1/api-keys", headers=auth("admin", subject="someone-else"))
        ticks.now += 2
        allowed = await client.get("/v1/api-keys", headers=ADMIN)

    assert_problem(limited, 429)
    assert limited.headers["retry-after"] == "2"
    assert other.status_code == 200
    assert allowed.status_code == 200
