"""Builders of findings-domain test data: triage results, items and their placement."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from services.feedback.findings.domain import Finding, Item, place
from services.feedback.triage import Category, Severity, TriageResult

T0 = datetime(2025, 5, 1, 12, tzinfo=UTC)


def dot(a, b) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def result(
    vector: tuple[float, ...],
    category: Category = Category.DEFECT,
    severity: Severity = Severity.HIGH,
    topic: str = "lid",
    hazard: bool = False,
) -> TriageResult:
    norm = dot(vector, vector) ** 0.5
    return TriageResult(
        category=category,
        severity=severity,
        sentiment=-0.5,
        safety_hazard=hazard,
        embedding=tuple(x / norm for x in vector),
        topic=topic,
    )


_ids = itertools.count()


def item(vector, *, product: str = "p1", minutes: int = 0, quote: str = "q", **kw) -> Item:
    return Item(
        event_id=f"e{next(_ids)}",
        product_id=product,
        kind="review",
        quote=quote,
        occurred_at=T0 + timedelta(minutes=minutes),
        result=result(vector, **kw),
    )


def put(it: Item, findings: list[Finding]) -> Finding:
    return place(it, findings, similarity=dot, threshold=0.8, new_id=lambda: f"f{len(findings)}")
