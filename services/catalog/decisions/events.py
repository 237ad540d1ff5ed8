"""Events about cases and decisions, on `catalog.events`, with the product id as subject.

Their key is the product id, so they stay in order with the product's own events. They carry
no `sequence` (`catalog_event(..., sequence=None)`): `sequence` is the product's version, and a
case or a decision does not change the product. Bumping the version for them would make every
client's If-Match stale for a change the product's fields never saw. Decisions carry their own
`number` (1, 2, ... per product) instead, so a consumer can still tell the latest.
"""

from __future__ import annotations

from datetime import datetime

from services.catalog.decisions.domain import Outcome, Stance
from services.catalog.events import registry
from shared.events import EventPayload


class ActorData(EventPayload):
    """Who did it: the API key's id and name."""

    subject: str
    name: str


class EvidenceData(EventPayload):
    url: str
    title: str | None


@registry.register("catalog.case.added.v1")
class CaseAdded(EventPayload):
    """A case for or against a product."""

    case_id: str
    product_id: str
    stance: Stance
    summary: str
    evidence: list[EvidenceData]
    author: ActorData
    created_at: datetime


@registry.register("catalog.decision.recorded.v1")
class DecisionRecorded(EventPayload):
    """A decision on a product, and how many cases stood for and against it then."""

    decision_id: str
    product_id: str
    number: int
    outcome: Outcome
    rationale: str
    decided_by: ActorData
    decided_at: datetime
    cases_for: int
    cases_against: int
