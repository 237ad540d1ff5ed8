"""The views' launch parts, with a stand-in for the launch service's read routes until the
real service can be started here (the other services are the real processes)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from gateway.app import create_app
from shared.settings import Settings
from tests.gateway.launch_standin import blocked_plan, launch_standin
from tests.gateway.services import ServiceProcess
from tests.gateway.store import SeededProduct, Services, product_with_everything
from tests.gateway.upstream import serving
from tests.support import auth, running

SERVICES = ["catalog", "feedback", "launch", "pricing"]
READ_ALL = auth("catalog:read feedback:read pricing:read launch:read")
TODAY = date(2030, 5, 27)


@pytest.fixture(scope="module")
async def kettle(real_services: dict[str, ServiceProcess]) -> SeededProduct:
    urls = {name: service.url for name, service in real_services.items()}
    return await product_with_everything(Services(urls))


@pytest.fixture
def launch(kettle: SeededProduct) -> FastAPI:
    return launch_standin(kettle.id)


@pytest.fixture
async def gateway(
    make_settings: Callable[..., Settings],
    real_services: dict[str, ServiceProcess],
    launch: FastAPI,
) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(launch) as launch_port:
        ports = {f"{name}_port": service.port for name, service in real_services.items()}
        settings = make_settings(launch_port=launch_port, **ports)
        clock = lambda: datetime.combine(TODAY, datetime.min.time(), tzinfo=UTC)  # noqa: E731
        async with running(create_app(settings, services=SERVICES, clock=clock)) as http:
            yield http


async def test_the_overview_shows_each_plan_with_why_it_is_blocked(
    gateway: httpx.AsyncClient, kettle: SeededProduct
) -> None:
    response = await gateway.get(f"/v1/products/{kettle.id}/overview", headers=READ_ALL)

    assert response.status_code == 200, response.text
    view = response.json()
    assert view["launch"] == {"plans": [blocked_plan(kettle.id)]}
    assert view["degraded"] == []


async def test_the_summary_shows_the_next_30_days_counted_by_readiness(
    gateway: httpx.AsyncClient, launch: FastAPI, kettle: SeededProduct
) -> None:
    response = await gateway.get("/v1/dashboard/summary", headers=READ_ALL)

    assert response.status_code == 200, response.text
    launches = response.json()["launches"]
    assert launches["from"] == TODAY.isoformat()
    assert launches["to"] == (TODAY + timedelta(days=30)).isoformat()
    assert launches["by_readiness"] == {"blocked": 1}
    (entry,) = launches["calendar"]
    assert (entry["id"], entry["behind"], entry["days_left"]) == ("launch-1", True, 5)
    assert launch.state.calendar_queries == [{"from": "2030-05-27", "to": "2030-06-26"}]
    assert response.json()["services"]["launch"]["status"] == "ready"
    assert response.json()["degraded"] == []


async def test_without_launch_read_the_launch_parts_are_forbidden(
    gateway: httpx.AsyncClient, kettle: SeededProduct
) -> None:
    headers = auth("catalog:read feedback:read pricing:read")
    overview = (await gateway.get(f"/v1/products/{kettle.id}/overview", headers=headers)).json()
    summary = (await gateway.get("/v1/dashboard/summary", headers=headers)).json()

    assert overview["launch"] is None
    assert overview["forbidden"] == ["launch"]
    assert summary["launches"] is None
    assert summary["forbidden"] == ["launch"]
