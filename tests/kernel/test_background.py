"""Background jobs, their stop hook and readiness reports declared on a ServiceSpec; the
runtime's clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import text

from shared.app import Runtime, ServiceSpec, create_service_app
from shared.db import new_metadata
from tests.support import auth, eventually, running


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
        body = (await client.get("/readyz", headers=auth("admin"))).json()
        assert body["worker"]["service"] == "jobs"
        assert body["worker"]["ticks"] >= 3
        assert body["broken"] == "failed: RuntimeError"
    assert stopped.is_set(), "the job is cancelled when the app stops"


async def test_an_api_only_process_runs_neither_consumer_nor_relay(make_settings) -> None:
    from tests.kernel.sample_service import create_app

    app = create_app(make_settings(run_consumers=False, run_relay=False))
    async with running(app) as client:
        body = (await client.get("/readyz", headers=auth("admin"))).json()
        assert "consumer" not in body
        names = {task.get_name() for task in asyncio.all_tasks()}
        assert not {"relay", "consumer"} & names


async def test_a_process_without_jobs_starts_no_background_job(make_settings) -> None:
    started: list[str] = []

    async def job(runtime: Runtime) -> None:
        started.append(runtime.spec.name)

    async def report(runtime: Runtime) -> dict[str, object]:
        return {"reported": True}

    spec = ServiceSpec(
        name="api_only",
        title="API only",
        metadata=new_metadata(),
        routers=[],
        background=[job],
        reports=[report],
    )
    async with running(create_service_app(spec, make_settings(run_jobs=False))) as client:
        body = (await client.get("/readyz", headers=auth("admin"))).json()
        # Reports still answer: they read the shared database, not the job.
        assert body["reported"] is True
        assert "job" not in {task.get_name() for task in asyncio.all_tasks()}
    assert started == []


async def test_stop_hooks_let_jobs_finish_their_work_before_the_database_closes(
    make_settings,
) -> None:
    asked = asyncio.Event()
    outcome: list[str] = []

    async def careful(runtime: Runtime) -> None:
        await asked.wait()
        # The last transaction, after being asked to stop: the database is still open.
        async with runtime.uow() as uow:
            await uow.session.execute(text("SELECT 1"))
        outcome.append("finished")

    async def stubborn(runtime: Runtime) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise

    spec = ServiceSpec(
        name="stopping",
        title="Stopping",
        metadata=new_metadata(),
        routers=[],
        background=[careful, stubborn],
        on_stop=[asked.set],
        stop_timeout_s=0.5,
    )
    async with running(create_service_app(spec, make_settings())):
        await asyncio.sleep(0)
        assert not asked.is_set()
    assert sorted(outcome) == ["cancelled", "finished"]


async def test_the_runtime_clock_is_the_one_given(make_settings) -> None:
    moment = datetime(2031, 1, 1, tzinfo=UTC)
    spec = ServiceSpec(name="clocked", title="Clocked", metadata=new_metadata(), routers=[])
    runtime = create_service_app(spec, make_settings(), clock=lambda: moment).state.runtime
    assert runtime.clock() == moment
    assert runtime.uow().clock() == moment
