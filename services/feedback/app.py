"""The feedback service's composition root."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from services.feedback.events import CUSTOMER_EVENTS_TOPIC
from services.feedback.findings.api import router
from services.feedback.findings.snapshots import finding_snapshots
from services.feedback.handlers import CATALOG_EVENTS, HANDLERS
from services.feedback.migrations import history
from services.feedback.settings import FeedbackSettings
from services.feedback.tables import metadata
from services.feedback.triage import SAME_PROBLEM_THRESHOLD, Triage, load_triage
from services.feedback.triage.worker import TriageWorker
from shared.app import ServiceSpec, create_service_app
from shared.settings import Settings


def create_app(
    settings: Settings,
    *,
    feedback: FeedbackSettings | None = None,
    triage: Callable[[], Triage] = load_triage,
    threshold: float = SAME_PROBLEM_THRESHOLD,
) -> FastAPI:
    """The feedback app: ingestion, the triage worker, findings and escalations.

    `triage` builds the text model (loaded in the worker, off the event loop, so start-up
    does not wait for it); tests may pass a fake that keeps the `Triage` contract.
    """
    worker = TriageWorker(
        factory=triage, settings=feedback or FeedbackSettings(), threshold=threshold
    )
    spec = ServiceSpec(
        name="feedback",
        title="ProductOps feedback",
        metadata=metadata,
        migrations=history,
        routers=[router],
        handlers=HANDLERS,
        consumes=[CATALOG_EVENTS],
        extra_topics=[CUSTOMER_EVENTS_TOPIC],
        background=[worker.run],
        reports=[worker.report],
        snapshots=finding_snapshots,
    )
    app = create_service_app(spec, settings)
    app.state.feedback_worker = worker
    return app
