"""The pricing service's composition root."""

from __future__ import annotations

from fastapi import FastAPI

from services.pricing.api import Pricing, router
from services.pricing.contracts import (
    CATALOG_TOPIC,
    CUSTOMER_EVENT_ACCEPTED,
    CUSTOMER_EVENTS_TOPIC,
    LAUNCH_TOPIC,
)
from services.pricing.handlers import HANDLERS
from services.pricing.migrations import history
from services.pricing.plans.api import router as plans_router
from services.pricing.publishing import Scheduler
from services.pricing.snapshots import price_snapshots
from services.pricing.tables import metadata
from shared.app import ServiceSpec, create_service_app
from shared.clock import Clock, utc_now
from shared.settings import Settings

# How long shutdown waits for the scheduler to finish its current batch.
_STOP_TIMEOUT_S = 10.0


def create_app(
    settings: Settings,
    *,
    clock: Clock = utc_now,
    scheduler_poll_s: float = 1.0,
) -> FastAPI:
    """The pricing app: price lists, proposals, approvals, the publishing scheduler,
    financial plans, and consumers of catalog, purchase and return, and launch events.

    `clock` is injectable for tests. With `PRODUCTOPS_RUN_CONSUMERS=false` it serves the
    API and the scheduler without joining the consumer group (an API-only replica, or
    tests that hand events to the handlers directly).
    """
    scheduler = Scheduler(poll_s=scheduler_poll_s)
    spec = ServiceSpec(
        name="pricing",
        title="ProductOps pricing",
        metadata=metadata,
        migrations=history,
        routers=[router, plans_router],
        handlers=HANDLERS,
        consumes=[CATALOG_TOPIC, CUSTOMER_EVENTS_TOPIC, LAUNCH_TOPIC],
        event_topics={CUSTOMER_EVENT_ACCEPTED: CUSTOMER_EVENTS_TOPIC},
        # Started once the tables exist; on shutdown it finishes its current transaction
        # before the database closes.
        background=[scheduler.job.run],
        on_stop=[scheduler.job.stop],
        stop_timeout_s=_STOP_TIMEOUT_S,
        snapshots=price_snapshots,
    )
    app = create_service_app(spec, settings, clock=clock)
    app.state.pricing = Pricing(scheduler=scheduler)
    return app
