"""The triage vocabulary: categories, ordered severities, inputs, results and the Triage port."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Category(StrEnum):
    """What a customer text is about, as a product manager acts on it."""

    DEFECT = "defect"
    MODIFICATION_REQUEST = "modification_request"
    REQUIREMENT = "requirement"
    QUESTION = "question"
    PRAISE = "praise"
    OTHER = "other"


class Severity(StrEnum):
    """How urgently an item needs attention; declared from least to most severe."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


SEVERITY_ORDER: tuple[Severity, ...] = tuple(Severity)
_RANK = {severity: position for position, severity in enumerate(SEVERITY_ORDER)}


def rank(severity: Severity | str) -> int:
    """Position of a severity in SEVERITY_ORDER: LOW is 0, CRITICAL is 3."""
    return _RANK[Severity(severity)]


def worst(severities: Iterable[Severity | str]) -> Severity:
    """The most severe of some severities; LOW (the bottom of the order) when there are none."""
    return max((Severity(s) for s in severities), key=rank, default=Severity.LOW)


@dataclass(frozen=True)
class TriageInput:
    """One customer text with what its kind adds (rating, ticket subject, return reason...)."""

    kind: str
    text: str
    rating: int | None = None
    subject: str | None = None
    reason: str | None = None
    priority: str | None = None


@dataclass(frozen=True)
class TriageResult:
    """What triage read in one text.

    `embedding` is L2-normalised, so the cosine of two items is their dot product
    (see `similarity`); `topic` is a short key phrase for display, e.g. "lid burn";
    `confidence` is what `needs_review` is judged on.
    """

    category: Category
    severity: Severity
    sentiment: float
    safety_hazard: bool
    embedding: tuple[float, ...]
    topic: str
    # How sure the model is, 0-1: the lower of its category and its hazard probabilities.
    confidence: float = 1.0


class Triage(Protocol):
    """The triage port: synchronous and CPU-bound; callers run it in a worker thread."""

    def triage(self, items: Sequence[TriageInput]) -> list[TriageResult]:
        """Triage a batch; one result per input, in order."""
        ...
