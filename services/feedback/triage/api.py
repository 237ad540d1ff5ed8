"""Triage routes: an admin puts events triage gave up on back in its queue; a person labels
an item the model was unsure of (or got wrong)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from services.feedback.findings.schemas import FeedbackItemPublic, feedback_item_public
from services.feedback.triage import Category, Severity
from services.feedback.triage import service as triaging
from services.feedback.triage.labelling import Label, label_item
from services.feedback.triage.schemas import LabelRequest, RequeueRequest, RequeueResponse
from services.feedback.triage.worker import WorkerDep
from shared.app import RuntimeDep
from shared.auth import ADMIN, Principal, require
from shared.errors import field_error
from shared.openapi import MISSING

router = APIRouter(prefix="/v1", tags=["feedback"])

Admin = Annotated[Principal, Depends(require(ADMIN))]
Writer = Annotated[Principal, Depends(require("feedback:write"))]


@router.post("/triage/requeue", response_model=RequeueResponse)
async def requeue_failed(
    runtime: RuntimeDep, worker: WorkerDep, _: Admin, body: RequeueRequest | None = None
) -> RequeueResponse:
    """Re-queue customer events triage gave up on (`failed` after its tries, see `/readyz`),
    with their tries afresh: those of `event_ids`, or all of them without a body. Answers how
    many were re-queued; an id that is unknown or not failed is left as it is."""
    event_ids = body.event_ids if body is not None else None
    async with runtime.uow() as uow:
        requeued = await triaging.requeue_failed(uow=uow, event_ids=event_ids)
    if requeued:
        worker.notify()
    return RequeueResponse(requeued=requeued)


@router.post("/feedback/{item_id}/label", responses=MISSING, response_model=FeedbackItemPublic)
async def label_feedback(
    item_id: str, body: LabelRequest, runtime: RuntimeDep, worker: WorkerDep, actor: Writer
) -> FeedbackItemPublic:
    """Correct an item's triage: its category, severity and hazard flag are the person's from
    now on, it leaves `needs_review`, moves to the finding its label belongs in, and the label
    (with the item's text) is training data for the next refit. A hazard is a critical
    defect (422 otherwise)."""
    if body.hazard and body.category != Category.DEFECT:
        raise field_error("category", "a safety hazard is a defect")
    if body.hazard != (body.severity == Severity.CRITICAL):
        raise field_error("severity", "critical exactly when the item reports a safety hazard")
    async with runtime.uow() as uow:
        row = await label_item(
            uow=uow,
            item_id=item_id,
            label=Label(category=body.category, severity=body.severity, hazard=body.hazard),
            actor=actor,
            matcher=worker.matcher,
            slas=worker.slas,
        )
    return feedback_item_public(row)
