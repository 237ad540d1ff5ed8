"""Answering routes: answer an escalation or a question finding, see what a source was
answered, and a product's known questions and answers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from services.feedback.answers import service
from services.feedback.answers.domain import SourceKind
from services.feedback.answers.schemas import (
    AnswerGiven,
    AnswerPublic,
    AnswerRecord,
    KnownAnswerPublic,
    answer_public,
    answer_record,
    known_answer_public,
)
from shared.app import RuntimeDep
from shared.auth import Principal, require
from shared.openapi import MISSING_OR_CONFLICT
from shared.pagination import Cursor, Page

router = APIRouter(prefix="/v1", tags=["feedback"])

Reader = Annotated[Principal, Depends(require("feedback:read"))]
Writer = Annotated[Principal, Depends(require("feedback:write"))]
# The known-Q&A contract's page: 20 by default, at most 100 (a knowledge sheet's section).
DEFAULT_ANSWERS = 20
MAX_ANSWERS = 100
AnswerLimit = Annotated[
    int, Query(ge=1, le=MAX_ANSWERS, description=f"page size, at most {MAX_ANSWERS}")
]
ProductId = Annotated[str, Path(max_length=128)]


@router.post(
    "/escalations/{escalation_id}/answer",
    status_code=status.HTTP_201_CREATED,
    responses=MISSING_OR_CONFLICT,
    response_model=AnswerPublic,
)
async def answer_escalation(
    escalation_id: str, body: AnswerGiven, runtime: RuntimeDep, actor: Writer
) -> AnswerPublic:
    """Answer the customer behind an escalation (open or forwarded): it becomes `answered`,
    and the answer one of its product's known questions and answers. Answering again
    replaces the answer; the earlier one stays in the history. 409 once the escalation is
    done without an answer."""
    async with runtime.uow() as uow:
        given = await service.answer_escalation(
            uow=uow, escalation_id=escalation_id, text=body.answer, actor=actor
        )
    return answer_public(given)


@router.post(
    "/findings/{finding_id}/answer",
    status_code=status.HTTP_201_CREATED,
    responses=MISSING_OR_CONFLICT,
    response_model=AnswerPublic,
)
async def answer_finding(
    finding_id: str, body: AnswerGiven, runtime: RuntimeDep, actor: Writer
) -> AnswerPublic:
    """Answer a question finding (what many customers asked): its representative quote is
    the question. Answering again replaces the answer, keeping the earlier one in the
    history; 409 for a finding that is not a question. The finding's status is unchanged."""
    async with runtime.uow() as uow:
        given = await service.answer_finding(
            uow=uow, finding_id=finding_id, text=body.answer, actor=actor
        )
    return answer_public(given)


@router.get("/escalations/{escalation_id}/answers", response_model=list[AnswerRecord])
async def escalation_answers(
    escalation_id: str, runtime: RuntimeDep, _: Reader
) -> list[AnswerRecord]:
    """Every answer the escalation was given, the current one first (at most 100)."""
    return await _history(runtime, SourceKind.ESCALATION, escalation_id)


@router.get("/findings/{finding_id}/answers", response_model=list[AnswerRecord])
async def finding_answers(finding_id: str, runtime: RuntimeDep, _: Reader) -> list[AnswerRecord]:
    """Every answer the finding was given, the current one first (at most 100)."""
    return await _history(runtime, SourceKind.FINDING, finding_id)


async def _history(runtime: RuntimeDep, kind: SourceKind, source_id: str) -> list[AnswerRecord]:
    async with runtime.db.reader() as session:
        found = await service.answer_history(session=session, source_kind=kind, source_id=source_id)
    return [answer_record(a) for a in found]


@router.get("/products/{product_id}/answers", response_model=Page[KnownAnswerPublic])
async def known_answers(
    product_id: ProductId,
    runtime: RuntimeDep,
    _: Reader,
    limit: AnswerLimit = DEFAULT_ANSWERS,
    cursor: Cursor = None,
) -> Page[KnownAnswerPublic]:
    """The product's known questions and answers: the current answer of each answered
    escalation and question finding about it, newest first. A product feedback has no
    answer about (or has never heard of) has an empty list: the catalog owns products."""
    async with runtime.db.reader() as session:
        page = await service.known_answers(
            session=session, product_id=product_id, limit=limit, cursor=cursor
        )
    return page.map(known_answer_public)
