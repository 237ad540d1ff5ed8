"""The feedback service's composition root."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from fastapi import FastAPI

from services.feedback.answers.api import router as answers_router
from services.feedback.events import CUSTOMER_EVENTS_TOPIC
from services.feedback.findings.api import router as findings_router
from services.feedback.findings.snapshots import finding_snapshots
from services.feedback.handlers import CATALOG_EVENTS, directory_handlers
from services.feedback.ingest.api import router as ingest_router
from services.feedback.ingest.backlog import IngestBacklog
from services.feedback.ingest.writer import IngestWriter
from services.feedback.migrations import history
from services.feedback.settings import FeedbackSettings
from services.feedback.suggestions.api import router as suggestions_router
from services.feedback.surveys.api import router as surveys_router
from services.feedback.tables import metadata
from services.feedback.triage import SAME_PROBLEM_THRESHOLD, Triage, load_triage
from services.feedback.triage.api import router as triage_router
from services.feedback.triage.worker import TriageWorker
from shared.app import ServiceSpec, create_service_app
from shared.clock import Clock, utc_now
from shared.settings import Settings


def create_app(
    settings: Settings,
    *,
    feedback: FeedbackSettings | None = None,
    triage: Callable[[], Triage] | None = None,
    threshold: float = SAME_PROBLEM_THRESHOLD,
    clock: Clock = utc_now,
) -> FastAPI:
    """The feedback app: ingestion, the triage worker, findings, escalations and surveys.

    `triage` builds the text model (loaded in the worker, off the event loop, so start-up
    does not wait for it; the real one on `triage_threads` threads by default); tests may
    pass a fake that keeps the `Triage` contract, and a `clock` they can move (it also times
    the worker's retries).
    """
    tuning = feedback or FeedbackSettings()
    worker = TriageWorker(
        factory=triage or partial(load_triage, threads=tuning.triage_threads),
        settings=tuning,
        threshold=threshold,
        clock=clock,
    )
    spec = ServiceSpec(
        name="feedback",
        title="ProductOps feedback",
        metadata=metadata,
        migrations=history,
        routers=[
            ingest_router,
            findings_router,
            answers_router,
            suggestions_router,
            triage_router,
            surveys_router,
        ],
        handlers=directory_handlers(on_queued=worker.notify),
        consumes=[CATALOG_EVENTS],
        extra_topics=[CUSTOMER_EVENTS_TOPIC],
        background=[worker.run],
        reports=[worker.report],
        snapshots=finding_snapshots,
    )
    app = create_service_app(spec, settings, clock=clock)
    app.state.feedback_worker = worker
    app.state.ingest_backlog = IngestBacklog()
    runtime = app.state.runtime
    app.state.ingest_writer = IngestWriter(unit_of_work=runtime.uow, grouped=runtime.db.is_sqlite)
    return app
