"""Questionnaire events on `catalog.events`.

A response's events have the product as subject (so a product's story stays in one
partition, in order) but carry no `sequence`: they do not change the product, and a
sequence here would make consumers that track the product's version drop its next real
change as stale. Promoting an answer goes through the product's own update and emits the
usual `catalog.product.updated.v1`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import JsonValue

from services.catalog.events import catalog_event, registry
from shared.events import CloudEvent, EventPayload


@registry.register("catalog.questionnaire.created.v1")
class QuestionnaireCreated(EventPayload):
    """A questionnaire template; subject: its id (templates never change: sequence 1)."""

    questionnaire_id: str
    title: str
    product_type: str | None
    questions: list[dict[str, Any]]
    created_at: datetime


class CompletionData(EventPayload):
    required_answered: int
    required_total: int
    answered: int
    total: int
    complete: bool


class ResponseData(EventPayload):
    response_id: str
    questionnaire_id: str
    product_id: str
    vendor: str
    status: str
    answers: dict[str, JsonValue]
    completion: CompletionData
    version: int


@registry.register("catalog.questionnaire.response_submitted.v1")
class ResponseSubmitted(ResponseData):
    """A vendor's response was submitted with every required question answered."""


@registry.register("catalog.questionnaire.response_updated.v1")
class ResponseUpdated(ResponseData):
    """A draft response was saved, or a response's answers changed without a submission."""

    changed_keys: list[str]


def questionnaire_created(payload: QuestionnaireCreated) -> CloudEvent:
    return catalog_event(payload, subject=payload.questionnaire_id, sequence=1)


def response_event(payload: ResponseData) -> CloudEvent:
    """An envelope about the response's product, without a sequence (see the docstring)."""
    return catalog_event(payload, subject=payload.product_id, sequence=None)
