"""The catalog service's composition root."""

from __future__ import annotations

from fastapi import FastAPI

from services.catalog.api import router
from services.catalog.decisions.api import router as decisions_router
from services.catalog.questionnaires.api import router as questionnaires_router
from services.catalog.requirements.api import router as requirements_router
from services.catalog.requirements.events import REQUIREMENT_IDENTIFIED
from services.catalog.requirements.handlers import handle_requirement_identified
from services.catalog.research.api import router as research_router
from services.catalog.tables import metadata
from services.catalog.variants.api import router as variants_router
from shared.app import ServiceSpec, create_service_app
from shared.clock import Clock, utc_now
from shared.settings import Settings


def create_app(settings: Settings, *, clock: Clock = utc_now) -> FastAPI:
    """The catalog app: products, product types, completeness and lifecycle. `clock` is
    injectable for tests."""
    spec = ServiceSpec(
        name="catalog",
        title="ProductOps catalog",
        metadata=metadata,
        routers=[
            router,
            research_router,
            questionnaires_router,
            decisions_router,
            variants_router,
            requirements_router,
        ],
        handlers={REQUIREMENT_IDENTIFIED: handle_requirement_identified},
        consumes=["feedback.events"],
    )
    return create_service_app(spec, settings, clock=clock)
