"""The gateway's composition root: `create_app(settings)`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gateway.api import auth_router, keys_router
from gateway.proxy import proxy_router
from gateway.runtime import GatewayRuntime
from shared.app import install_probes
from shared.errors import install_error_handlers
from shared.http import RequestContextMiddleware
from shared.settings import Settings
from shared.stack.components import service_names


def create_app(settings: Settings, *, services: Sequence[str] | None = None) -> FastAPI:
    """The gateway app; routes to `services` (default: every registered service)."""
    runtime = GatewayRuntime(settings, service_names() if services is None else services)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title="ProductOps gateway", version="1.0", lifespan=lifespan)
    app.state.runtime = runtime
    app.state.signer = runtime.signer
    app.add_middleware(
        RequestContextMiddleware, service="gateway", max_body_bytes=settings.max_body_bytes
    )
    install_error_handlers(app)
    install_probes(app, runtime.readiness)
    app.include_router(auth_router)
    app.include_router(keys_router)
    # Routed service paths come last: the gateway's own routes win any overlap.
    app.include_router(proxy_router(runtime.services))
    return app
