"""Run one component (a service or the gateway) as a uvicorn server in this process."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from shared.app import settle_heap
from shared.observability import configure_logging
from shared.settings import Settings
from shared.stack.components import load_factory


def server_config(name: str, app: FastAPI, settings: Settings) -> uvicorn.Config:
    """How uvicorn serves a component: on its own host and port, believing forwarded
    headers only from `settings.trusted_proxies` (none by default).

    uvicorn would otherwise trust X-Forwarded-For from loopback peers, and a client on the
    same machine could then choose the address the gateway's per-IP limit counts (issue 12).
    """
    trusted = ",".join(settings.trusted_proxies)
    return uvicorn.Config(
        app,
        host=settings.bind_host(name),
        port=settings.port(name),
        log_config=None,
        access_log=False,
        lifespan="on",
        proxy_headers=bool(trusted),
        # Always explicit: None would make uvicorn read $FORWARDED_ALLOW_IPS or trust loopback.
        forwarded_allow_ips=trusted,
    )


def serve(name: str) -> None:
    """Build the component's app from `Settings()` and serve it until SIGINT or SIGTERM."""
    settings = Settings()
    configure_logging(name, settings.log_level)
    app = load_factory(name)(settings)
    # Every module and the app are built: from here the collector walks only what serving
    # allocates, and a full collection no longer stalls a request for the whole heap.
    settle_heap()
    server = uvicorn.Server(server_config(name, app, settings))
    server.run()  # installs its own SIGINT/SIGTERM handlers
    if not server.started:
        # A failed lifespan start-up returns normally; a supervisor must see a failure.
        raise SystemExit(f"{name} did not start")
