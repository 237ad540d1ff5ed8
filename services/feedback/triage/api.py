"""Triage routes: an admin puts events triage gave up on back in its queue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from services.feedback.triage import service as triaging
from services.feedback.triage.schemas import RequeueRequest, RequeueResponse
from services.feedback.triage.worker import WorkerDep
from shared.app import RuntimeDep
from shared.auth import ADMIN, Principal, require

router = APIRouter(prefix="/v1", tags=["feedback"])

Admin = Annotated[Principal, Depends(require(ADMIN))]


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
