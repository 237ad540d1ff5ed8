"""The launch service's composition root."""

from __future__ import annotations

from fastapi import FastAPI

from services.launch.api import Launch, router
from services.launch.contracts import CATALOG_TOPIC, FEEDBACK_TOPIC, PRICING_TOPIC
from services.launch.handlers import handlers
from services.launch.migrations import history
from services.launch.scheduler import Scheduler
from services.launch.settings import LaunchSettings
from services.launch.tables import metadata
from shared.app import ServiceSpec, create_service_app
from shared.clock import Clock, utc_now
from shared.settings import Settings

# How long shutdown waits for the scheduler to finish its current plan.
_STOP_TIMEOUT_S = 10.0


def create_app(
    settings: Settings, *, clock: Clock = utc_now, launch: LaunchSettings | None = None
) -> FastAPI:
    """The launch app: plans and their gates, the scheduler that launches approved plans on
    their date and expires waivers, and consumers of catalog, pricing and feedback events.

    `clock` is injectable for tests. With `PRODUCTOPS_RUN_CONSUMERS=false` it serves the
    API and the scheduler without joining the consumer group.
    """
    own = launch or LaunchSettings()
    scheduler = Scheduler(monitoring=own.monitoring, poll_s=own.scheduler_poll_s)
    spec = ServiceSpec(
        name="launch",
        title="ProductOps launch",
        metadata=metadata,
        migrations=history,
        routers=[router],
        handlers=handlers(monitoring=own.monitoring),
        consumes=[CATALOG_TOPIC, PRICING_TOPIC, FEEDBACK_TOPIC],
        # Started once the tables exist; on shutdown it finishes its current plan first.
        background=[scheduler.job.run],
        on_stop=[scheduler.job.stop],
        stop_timeout_s=_STOP_TIMEOUT_S,
        # Products, prices and findings made before launch first started count too.
        catch_up_from=["catalog", "pricing", "feedback"],
    )
    app = create_service_app(spec, settings, clock=clock)
    app.state.launch = Launch(settings=own, scheduler=scheduler)
    return app
