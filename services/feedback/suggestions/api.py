"""Suggestions routes: the product team files ideas for future specifications."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from services.feedback.suggestions import service
from services.feedback.suggestions.schemas import SuggestionCreate, SuggestionPublic
from services.feedback.triage.worker import WorkerDep
from shared.app import RuntimeDep
from shared.auth import Principal, require

router = APIRouter(prefix="/v1", tags=["feedback"])

Writer = Annotated[Principal, Depends(require("feedback:write"))]


@router.post("/suggestions", status_code=status.HTTP_202_ACCEPTED, response_model=SuggestionPublic)
async def file_suggestion(
    body: SuggestionCreate, runtime: RuntimeDep, worker: WorkerDep, actor: Writer
) -> SuggestionPublic:
    """File a suggestion or idea for a future specification (about a product, a product
    type, or neither). It is triaged and grouped like customers' texts, its item and
    finding marked `internal` (`GET /v1/feedback?source=internal`, `GET
    /v1/findings?source=internal`); it raises no escalation. 202: stored, triage to come."""
    async with runtime.uow() as uow:
        filed = await service.file_suggestion(
            uow=uow,
            text=body.text,
            title=body.title,
            product_id=body.product_id,
            product_type=body.product_type,
            actor=actor,
        )
    worker.notify()
    return SuggestionPublic(
        event_id=filed.event_id,
        product_id=body.product_id,
        product_type=body.product_type,
        scope=filed.scope,
        title=body.title,
        text=body.text,
        source="internal",
        submitted_by=actor.owner,
        submitted_at=filed.at,
    )
