"""The gateway's composition root: `create_app(settings)`."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from fastapi import FastAPI
from starlette.middleware import Middleware

from gateway.api import auth_router, keys_router
from gateway.dashboard import pages as dashboard_pages
from gateway.dashboard.parts import router as dashboard_parts
from gateway.ingest import router as ingest_router
from gateway.live.api import router as live_router
from gateway.proxy import RoutedCalls, proxy_router, shadowed_by_routing
from gateway.runtime import GatewayRuntime
from gateway.views.api import router as views_router
from shared.app import new_app
from shared.clock import Clock, utc_now
from shared.settings import Settings
from shared.stack.components import service_names


def create_app(
    settings: Settings,
    *,
    services: Sequence[str] | None = None,
    clock: Clock = utc_now,
    monotonic: Callable[[], float] = time.monotonic,
) -> FastAPI:
    """The gateway app; routes to `services` (default: every registered service). `clock`
    and `monotonic` (the rate limiters' time) are injectable for tests."""
    runtime = GatewayRuntime(
        settings,
        service_names() if services is None else services,
        clock=clock,
        monotonic=monotonic,
    )
    routing = proxy_router(runtime.services)
    app = new_app(
        name="gateway",
        title="ProductOps gateway",
        settings=settings,
        component=runtime,
        signer=runtime.signer,
        deny_list=runtime.deny_list,
        inner_middleware=[Middleware(RoutedCalls, runtime=runtime, router=routing)],
    )
    app.include_router(auth_router)
    app.include_router(keys_router)
    app.include_router(views_router)
    app.include_router(live_router)
    app.include_router(dashboard_pages.router)
    app.include_router(dashboard_parts)
    dashboard_pages.mount_static(app)
    dashboard_pages.install_not_found_page(app)
    if "feedback" in runtime.services:
        app.include_router(ingest_router)
    # RoutedCalls answers routed paths before the router: no own route may lie among them.
    if shadowed := shadowed_by_routing(app.routes, runtime.services):
        raise RuntimeError(f"gateway routes {shadowed} lie under routed service paths")
    app.include_router(routing)
    return app
