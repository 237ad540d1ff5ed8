"""Background jobs and readiness reports declared on a ServiceSpec."""

from __future__ import annotations

import asyncio

from shared.app import Runtime, ServiceSpec, create_service_app
from shared.db import new_metadata
from tests.support import eventually, running


async def test_background_jobs_run_with_the_app_and_stop_with_it(make_settings) -> None:
    ticks: list[int] = []
    stopped = asyncio.Event()

    async def ticker(runtime: Runtime) -> None:
        try:
            while True:
                ticks.append(len(ticks))
                await asyncio.sleep(0.01)
        finally:
            stopped.set()

    async def worker_lag(runtime: Runtime) -> dict[str, object]:
        return {"worker": {"ticks": len(ticks), "service": runtime.spec.name}}

    async def broken(runtime: Runtime) -> dict[str, object]:
        raise RuntimeError("no")

    spec = ServiceSpec(
        name="jobs",
        title="Jobs",
        metadata=new_metadata(),
        routers=[],
        background=[ticker],
        reports=[worker_lag, broken],
    )
    app = create_service_app(spec, make_settings())
    async with running(app) as client:

        async def ticked() -> bool:
            return len(ticks) >= 3

        await eventually(ticked, timeout_s=5)
        body = (await client.get("/readyz")).json()
        assert body["worker"]["service"] == "jobs"
        assert body["worker"]["ticks"] >= 3
        assert body["broken"] == "failed: RuntimeError"
    assert stopped.is_set(), "the job is cancelled when the app stops"


async def test_an_api_only_process_runs_neither_consumer_nor_relay(make_settings) -> None:
    from tests.kernel.sample_service import create_app

    app = create_app(make_settings(run_consumers=False, run_relay=False))
    async with running(app) as client:
        body = (await client.get("/readyz")).json()
        assert "consumer" not in body
        names = {task.get_name() for task in asyncio.all_tasks()}
        assert not {"relay", "consumer"} & names
