"""Run one component (a service or the gateway) as a uvicorn server in this process."""

from __future__ import annotations

import uvicorn

from shared.observability import configure_logging
from shared.settings import Settings
from shared.stack.components import load_factory


def serve(name: str) -> None:
    """Build the component's app from `Settings()` and serve it until SIGINT or SIGTERM."""
    settings = Settings()
    configure_logging(name, settings.log_level)
    app = load_factory(name)(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port(name),
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    server.run()  # installs its own SIGINT/SIGTERM handlers
    if not server.started:
        # A failed lifespan start-up returns normally; a supervisor must see a failure.
        raise SystemExit(f"{name} did not start")
