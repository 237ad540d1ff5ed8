"""The catalog service's composition root."""

from __future__ import annotations

from fastapi import FastAPI

from services.catalog.api import router
from services.catalog.case_studies.api import router as case_studies_router
from services.catalog.creates import product_creates
from services.catalog.decisions.api import router as decisions_router
from services.catalog.decisions.service import current_decisions, refuse_move_against_decision
from services.catalog.launches.contracts import LAUNCH_TOPIC, LAUNCHED
from services.catalog.launches.handlers import launched_handler
from services.catalog.migrations import history
from services.catalog.notices import (
    ClaimingSkus,
    CoreNotices,
    LifecycleMoved,
    MovingLifecycle,
    ProductChanged,
)
from services.catalog.questionnaires.api import router as questionnaires_router
from services.catalog.requirements.api import router as requirements_router
from services.catalog.requirements.events import REQUIREMENT_IDENTIFIED
from services.catalog.requirements.handlers import handle_requirement_identified
from services.catalog.requirements.matching import product_changed
from services.catalog.research.api import router as research_router
from services.catalog.snapshots import product_snapshots
from services.catalog.tables import metadata
from services.catalog.variants.api import router as variants_router
from services.catalog.variants.service import claim_product_skus, follow_product_lifecycle
from shared.app import ServiceSpec, create_service_app
from shared.clock import Clock, utc_now
from shared.settings import Settings


def core_notices() -> CoreNotices:
    """The sub-domains' subscriptions to the core's product changes."""
    notices = CoreNotices()
    # Products and variants share one SKU space.
    notices.subscribe(ClaimingSkus, claim_product_skus)
    # A rejected product cannot become active (issue 3): 409 with the decision.
    notices.subscribe(MovingLifecycle, refuse_move_against_decision)
    # Requirements and recommendations follow what active products offer (issue 3).
    notices.subscribe(ProductChanged, product_changed)
    # A discontinued product's variants are discontinued with it, one event each.
    notices.subscribe(LifecycleMoved, follow_product_lifecycle)
    return notices


def create_app(settings: Settings, *, clock: Clock = utc_now) -> FastAPI:
    """The catalog app: products, product types, completeness and lifecycle. `clock` is
    injectable for tests."""
    notices = core_notices()
    spec = ServiceSpec(
        name="catalog",
        title="ProductOps catalog",
        metadata=metadata,
        migrations=history,
        routers=[
            router,
            research_router,
            case_studies_router,
            questionnaires_router,
            decisions_router,
            variants_router,
            requirements_router,
        ],
        handlers={
            REQUIREMENT_IDENTIFIED: handle_requirement_identified,
            # A launched product becomes active (issue 10, loop 4).
            LAUNCHED: launched_handler(notices),
        },
        consumes=["feedback.events", LAUNCH_TOPIC],
        snapshots=product_snapshots(decisions=current_decisions),
    )
    app = create_service_app(spec, settings, clock=clock)
    app.state.core_notices = notices
    app.state.product_creates = product_creates(unit_of_work=app.state.runtime.uow, notices=notices)
    return app
