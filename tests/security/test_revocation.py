"""Finding 1 of issue 12: revoking a key revokes its tokens.

A leaked admin key is revoked: its token is refused at once by the gateway that revoked
it, within `revocation_cache_s` by any other gateway replica (and at once for key
management, read from the database), and by a service called on its own port once the
service has the `gateway.api_key.revoked.v1` event from the gateway's outbox; a service
started later still refuses it (its `revoked_api_key` table). Real broker, real ports."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from gateway.app import create_app as create_gateway
from services.catalog.app import create_app as create_catalog
from shared.revocation import DenyList
from shared.settings import Settings
from tests.security.serving import served
from tests.support import assert_problem, eventually, running

NEW_KEY = {"name": "fresh", "owner": "mallory", "scopes": ["admin"]}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def token_for(gateway: httpx.AsyncClient, api_key: str) -> str:
    answer = await gateway.post("/v1/auth/token", json={"api_key": api_key})
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


async def leaked_admin_key(gateway: httpx.AsyncClient, admin: str) -> dict[str, Any]:
    made = await gateway.post(
        "/v1/api-keys",
        json={"name": "laptop", "owner": "pat", "scopes": ["admin"]},
        headers=bearer(admin),
    )
    assert made.status_code == 201, made.text
    key: dict[str, Any] = made.json()
    return key


@asynccontextmanager
async def catalog_on_a_port(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The catalog served on a real port, and a client calling that port directly."""
    async with (
        served("catalog", create_catalog(settings), settings) as url,
        httpx.AsyncClient(base_url=url, trust_env=False) as direct,
    ):
        yield direct


async def test_a_revoked_key_s_tokens_are_refused_by_the_gateway_and_the_services(
    make_settings: Callable[..., Settings], broker: object, database_url: str
) -> None:
    # The catalog on SQLite and on PostgreSQL; the gateway keeps its own SQLite file.
    settings = make_settings(catalog_database_url=database_url)
    async with catalog_on_a_port(settings) as catalog:
        port = int(str(catalog.base_url).rstrip("/").rpartition(":")[2])
        gateway_settings = make_settings(catalog_port=port)
        # Another replica on the same database, whose cache trusts what it read for a minute.
        slow_settings = make_settings(catalog_port=port, revocation_cache_s=60)
        async with (
            running(create_gateway(gateway_settings, services=["catalog"])) as gateway,
            running(create_gateway(slow_settings, services=["catalog"])) as replica,
        ):
            admin = await token_for(gateway, settings.bootstrap_admin_key)
            leaked = await leaked_admin_key(gateway, admin)
            stolen = await token_for(gateway, leaked["api_key"])
            for client, path in ((gateway, "/v1/catalog/products"), (catalog, "/v1/products")):
                assert (await client.get(path, headers=bearer(stolen))).status_code == 200
            assert (await replica.get("/v1/api-keys", headers=bearer(stolen))).status_code == 200

            revoked = await gateway.delete(f"/v1/api-keys/{leaked['id']}", headers=bearer(admin))
            assert revoked.status_code == 204

            # The gateway that revoked it: at once, for routed calls and key management.
            routed = await gateway.get("/v1/catalog/products", headers=bearer(stolen))
            assert_problem(routed, 401, detail_has="revoked")
            minted = await gateway.post("/v1/api-keys", json=NEW_KEY, headers=bearer(stolen))
            assert_problem(minted, 401, detail_has="revoked")
            # The other replica: key management reads the database, so at once too.
            minted = await replica.post("/v1/api-keys", json=NEW_KEY, headers=bearer(stolen))
            assert_problem(minted, 401, detail_has="revoked")

            # The service's own port, once the event has come through the broker.
            async def service_refuses() -> bool:
                answer = await catalog.get("/v1/products", headers=bearer(stolen))
                return answer.status_code == 401

            await eventually(service_refuses, timeout_s=60)
            direct = await catalog.get("/v1/products", headers=bearer(stolen))
            assert_problem(direct, 401, detail_has="revoked")
            assert direct.headers["www-authenticate"].startswith("Bearer")
            # Other keys' tokens still work everywhere.
            assert (await catalog.get("/v1/products", headers=bearer(admin))).status_code == 200
            listed = await gateway.get("/v1/api-keys", headers=bearer(admin))
            assert listed.status_code == 200

    # A catalog process started afterwards knows it from its database.
    later = make_settings(catalog_database_url=database_url, run_consumers=False)
    async with running(create_catalog(later)) as restarted:
        again = await restarted.get("/v1/products", headers=bearer(stolen))
    assert_problem(again, 401, detail_has="revoked")


async def test_another_gateway_replica_refuses_within_the_revocation_cache(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(revocation_cache_s=0.5)
    async with (
        running(create_gateway(settings, services=[])) as gateway,
        running(create_gateway(settings, services=[])) as replica,
    ):
        admin = await token_for(gateway, settings.bootstrap_admin_key)
        leaked = await leaked_admin_key(gateway, admin)
        stolen = await token_for(gateway, leaked["api_key"])
        # The replica reads its list of revoked keys on this call: none yet.
        assert (await replica.get("/v1/api-keys", headers=bearer(stolen))).status_code == 200

        await gateway.delete(f"/v1/api-keys/{leaked['id']}", headers=bearer(admin))

        async def replica_refuses() -> bool:
            answer = await replica.get("/v1/dashboard/summary", headers=bearer(stolen))
            return answer.status_code == 401

        await eventually(replica_refuses, timeout_s=10)


async def test_a_live_stream_opened_before_the_revocation_ends(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(live_heartbeat_s=0.2)
    app = create_gateway(settings, services=["catalog"])
    async with (
        served("gateway", app, settings) as url,
        httpx.AsyncClient(base_url=url, trust_env=False, timeout=15) as gateway,
    ):
        admin = await token_for(gateway, settings.bootstrap_admin_key)
        leaked = await leaked_admin_key(gateway, admin)
        stolen = await token_for(gateway, leaked["api_key"])
        async with gateway.stream("GET", "/v1/live", headers=bearer(stolen)) as stream:
            assert stream.status_code == 200
            lines = stream.aiter_lines()
            assert (await anext(lines)).startswith(":")  # a heartbeat: the stream is open

            revoked = await gateway.delete(f"/v1/api-keys/{leaked['id']}", headers=bearer(admin))
            assert revoked.status_code == 204
            async with asyncio.timeout(10):
                rest = [line async for line in lines]

    assert all(line.startswith(":") or not line for line in rest)


def test_the_token_lifetime_is_capped(make_settings: Callable[..., Settings]) -> None:
    assert make_settings().token_ttl_s == 900
    assert make_settings(token_ttl_s=3600).token_ttl_s == 3600
    with pytest.raises(ValueError, match="token_ttl_s"):
        make_settings(token_ttl_s=3601)


class Revocations:
    """A loader the test controls: the ids it returns, or a failure."""

    def __init__(self) -> None:
        self.ids: frozenset[str] = frozenset()
        self.failing = False
        self.reads = 0

    async def __call__(self) -> frozenset[str]:
        self.reads += 1
        if self.failing:
            raise ConnectionError("database away")
        return self.ids


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_the_deny_list_reads_again_once_its_copy_is_old() -> None:
    loader, clock = Revocations(), Clock()
    deny = DenyList(loader, max_age_s=2.0, monotonic=clock)

    assert not await deny.refuses("k1")
    loader.ids = frozenset({"k1"})
    clock.now += 1.9
    assert not await deny.refuses("k1")  # the documented window
    clock.now += 0.1
    assert await deny.refuses("k1")
    assert loader.reads == 2


async def test_the_deny_list_keeps_its_copy_when_the_database_is_away() -> None:
    loader, clock = Revocations(), Clock()
    loader.ids = frozenset({"k1"})
    deny = DenyList(loader, max_age_s=1.0, monotonic=clock)
    assert await deny.refuses("k1")

    loader.failing = True
    clock.now += 5
    assert await deny.refuses("k1")
    assert not await deny.refuses("k2")
    deny.add("k2")  # learned in this process: refused whatever the database says
    assert await deny.refuses("k2")
