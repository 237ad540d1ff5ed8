"""Finding 8 of issue 12: service ports bypass the gateway. Services bind to an internal
host of their own (`PRODUCTOPS_SERVICE_HOST`), and `/readyz` tells its details (error
text, backlogs) only to callers with a valid token; anyone else gets the verdict. The
gateway's dashboard summary still reads the details, with its caller's token."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
import uvicorn

from gateway.app import create_app as create_gateway
from services.catalog.app import create_app as create_catalog
from shared.broker import free_port, port_open
from shared.settings import Settings
from shared.stack.serve import server_config
from tests.security.serving import served
from tests.support import auth, running

INTERNAL = "127.0.0.2"  # another loopback address: reachable here, not from outside


def test_services_bind_to_the_service_host_and_the_gateway_to_the_public_one(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(host="0.0.0.0", service_host=INTERNAL)  # noqa: S104

    assert settings.bind_host("gateway") == "0.0.0.0"  # noqa: S104
    assert settings.bind_host("catalog") == INTERNAL
    assert settings.base_url("catalog") == f"http://{INTERNAL}:{settings.catalog_port}"
    assert server_config("catalog", create_catalog(settings), settings).host == INTERNAL
    # Without a service host, services listen where the gateway does (as before).
    assert make_settings().bind_host("pricing") == make_settings().host


async def test_a_service_on_the_internal_host_does_not_answer_on_the_public_one(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(service_host=INTERNAL, catalog_port=free_port())
    config = server_config("catalog", create_catalog(settings), settings)
    config.timeout_graceful_shutdown = 1
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(30):
            while not server.started:
                assert not task.done(), "the catalog did not start"
                await asyncio.sleep(0.02)
        async with httpx.AsyncClient(trust_env=False) as client:
            inside = await client.get(f"{settings.base_url('catalog')}/healthz")
        assert inside.status_code == 200
        assert not port_open("127.0.0.1", settings.catalog_port)
    finally:
        server.should_exit = True
        await asyncio.wait({task}, timeout=10)


@pytest.mark.parametrize("component", ["catalog", "gateway"])
async def test_readyz_details_are_for_callers_with_a_token(
    make_settings: Callable[..., Settings], component: str
) -> None:
    settings = make_settings()
    app = create_catalog(settings) if component == "catalog" else create_gateway(settings)

    async with running(app) as client:
        anonymous = await client.get("/readyz")
        forged = await client.get("/readyz", headers={"Authorization": "Bearer not.a.token"})
        known = await client.get("/readyz", headers=auth("catalog:read"))

    # The catalog has no broker here (503); the gateway needs only its database (200).
    assert anonymous.status_code == known.status_code
    for answer in (anonymous, forged):
        assert answer.json() == {"service": component, "status": known.json()["status"]}
    assert known.json()["database"] == "ok"
    if component == "catalog":
        assert known.json()["broker"] == "unreachable"


async def test_the_dashboard_summary_still_reads_each_service_s_details(
    make_settings: Callable[..., Settings],
) -> None:
    catalog_settings = make_settings()
    async with served("catalog", create_catalog(catalog_settings), catalog_settings) as url:
        port = int(url.rpartition(":")[2])
        gateway = create_gateway(make_settings(catalog_port=port), services=["catalog"])
        async with running(gateway) as client:
            answer = await client.get("/v1/dashboard/summary", headers=auth("catalog:read"))

    assert answer.status_code == 200, answer.text
    ops = answer.json()["services"]["catalog"]
    assert ops["status"] == "not ready"  # no broker here
    assert ops["outbox_backlog"] == 0
    assert ops["dead_letters"] == {"catalog": {"open": 0, "replayed": 0, "discarded": 0}}
