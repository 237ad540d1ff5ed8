"""Finding rules as plain Python: grouping items into findings, severity, status transitions,
trend and the fields every finding event carries. No I/O."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from services.feedback.triage import Category, Severity, TriageResult, rank, worst
from shared.errors import Conflict

QUOTE_LIMIT = 500


class Status(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Source(StrEnum):
    """Who wrote a text: a customer (storefront events), the product team (a suggestion), or
    a vendor. Nothing sends vendor texts yet: the vendor's questionnaire answers live in the
    catalog and are not triaged; `vendor` is reserved for texts a vendor's own key sends."""

    CUSTOMER = "customer"
    VENDOR = "vendor"
    INTERNAL = "internal"


def sources_of(stored: str | Iterable[str]) -> list[str]:
    """A finding's sources in their stored order (`customer,internal`), from the column's
    text or any collection of them; the order of `Source`, so equal sets read the same."""
    names = set(stored.split(",")) if isinstance(stored, str) else set(stored)
    return [source.value for source in Source if source.value in names]


def stored_sources(sources: Collection[str]) -> str:
    """The `finding.sources` column's text for a set of sources."""
    return ",".join(sources_of(sources))


# A person moves a finding forward; only new items move it back (a regression).
FINDING_TRANSITIONS: Mapping[Status, frozenset[Status]] = MappingProxyType(
    {
        Status.OPEN: frozenset({Status.ACKNOWLEDGED, Status.RESOLVED}),
        Status.ACKNOWLEDGED: frozenset({Status.RESOLVED}),
        Status.RESOLVED: frozenset(),
    }
)


class InvalidTransition(Conflict):
    def __init__(self, current: str, to: str, *, what: str = "a finding") -> None:
        super().__init__(f"{what} cannot go from {current} to {to}", current_status=current, to=to)


def transition(current: Status, to: Status) -> Status:
    """The finding's new status, or InvalidTransition (409)."""
    current, to = Status(current), Status(to)
    if to not in FINDING_TRANSITIONS[current]:
        raise InvalidTransition(current, to)
    return to


def quote_of(text: str, limit: int = QUOTE_LIMIT) -> str:
    """A text with its spacing collapsed, cut to `limit` characters on a word boundary."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"


def finding_snapshot(f: Any) -> dict[str, Any]:
    """The fields every finding event carries (from a `Finding` or a `finding` row)."""
    return {
        "finding_id": f.id,
        "product_id": f.product_id,
        "kind": str(f.kind),
        "severity": str(f.severity),
        "status": str(f.status),
        "item_count": f.item_count,
        "safety_hazard": f.safety_hazard,
        "regression": f.regression,
        "topic": f.topic,
        "representative_quote": f.representative_quote,
        "first_seen": f.first_seen,
        "last_seen": f.last_seen,
        "version": f.version,
        "sources": sources_of(f.sources),
    }


# --- grouping into findings ----------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """A triaged customer event, ready to be placed in a finding."""

    event_id: str
    product_id: str
    kind: str
    quote: str
    occurred_at: datetime
    result: TriageResult
    source: Source = Source.CUSTOMER


@dataclass
class Finding:
    """A finding as the triage of one batch sees and changes it."""

    id: str
    product_id: str
    kind: Category
    severity: Severity
    status: Status
    item_count: int
    safety_hazard: bool
    topic: str
    representative_quote: str
    representative_event_id: str
    representative_score: float
    embedding_sum: list[float]
    regression: bool
    first_seen: datetime
    last_seen: datetime
    version: int
    # Who wrote its items: customers, the product team, vendors. One finding may group
    # several (customers asking for what the team suggested): it is one problem either way.
    sources: set[str] = field(default_factory=lambda: {Source.CUSTOMER.value})
    is_new: bool = False
    new_items: int = 0
    changed: set[str] = field(default_factory=set)

    @property
    def centroid(self) -> tuple[float, ...]:
        norm = math.sqrt(sum(x * x for x in self.embedding_sum)) or 1.0
        return tuple(x / norm for x in self.embedding_sum)


Similarity = Callable[[Sequence[float], Sequence[float]], float]


def place(
    item: Item,
    findings: list[Finding],
    *,
    similarity: Similarity,
    threshold: float,
    new_id: Callable[[], str],
) -> Finding:
    """Put the item in the most similar finding of its product and kind (reopening it if it
    was resolved), or open a new finding when none is similar enough; returns the finding.

    A safety hazard is a problem of its own: it never joins a finding of other reports about
    the same part (nor they one of hazards), so resolving "the lid does not close" cannot
    close "the lid burned me", and a hazard's finding stays critical on its own items.
    """
    best: Finding | None = None
    best_score = threshold
    hazard = bool(item.result.safety_hazard)
    for candidate in findings:
        if (
            candidate.product_id != item.product_id
            or candidate.kind != item.result.category
            or candidate.safety_hazard != hazard
        ):
            continue
        score = similarity(item.result.embedding, candidate.centroid)
        if score >= best_score:
            best, best_score = candidate, score
    if best is None:
        opened = _open(item, new_id())
        findings.append(opened)
        return opened
    _absorb(best, item, best_score)
    return best


def _open(item: Item, finding_id: str) -> Finding:
    result = item.result
    return Finding(
        id=finding_id,
        product_id=item.product_id,
        kind=Category(result.category),
        severity=Severity(result.severity),
        status=Status.OPEN,
        item_count=1,
        safety_hazard=bool(result.safety_hazard),
        topic=result.topic[:200],
        representative_quote=item.quote,
        representative_event_id=item.event_id,
        representative_score=1.0,
        embedding_sum=list(result.embedding),
        regression=False,
        first_seen=item.occurred_at,
        last_seen=item.occurred_at,
        version=1,
        sources={Source(item.source).value},
        is_new=True,
        new_items=1,
    )


def _absorb(finding: Finding, item: Item, score: float) -> None:
    result = item.result
    finding.item_count += 1
    finding.new_items += 1
    finding.changed.add("item_count")
    pairs = zip(finding.embedding_sum, result.embedding, strict=True)
    finding.embedding_sum = [a + b for a, b in pairs]
    if (source := Source(item.source).value) not in finding.sources:
        finding.sources = finding.sources | {source}
        finding.changed.add("sources")
    finding.first_seen = min(finding.first_seen, item.occurred_at)
    finding.last_seen = max(finding.last_seen, item.occurred_at)
    severity = worst([finding.severity, result.severity])
    # The most severe item speaks for the finding; among equals, the one nearest the centre.
    if rank(result.severity) > rank(finding.severity) or (
        result.severity == finding.severity and score > finding.representative_score
    ):
        finding.representative_quote = item.quote
        finding.representative_event_id = item.event_id
        finding.representative_score = score
    if severity != finding.severity:
        finding.severity = severity
        finding.changed.add("severity")
    if finding.status is Status.RESOLVED:
        finding.status = Status.OPEN
        finding.regression = True
        finding.changed.update({"status", "regression"})


# --- trend -----------------------------------------------------------------------------------


class Direction(StrEnum):
    QUIET = "quiet"
    NEW = "new"
    RISING = "rising"
    STEADY = "steady"
    FALLING = "falling"


@dataclass(frozen=True)
class Trend:
    last_24h: int
    daily_average_prior_7d: float
    direction: Direction


def trend(*, last_24h: int, prior_7d: int) -> Trend:
    """Items in the last 24 hours against the daily average of the 7 days before."""
    average = prior_7d / 7
    if last_24h == 0 and prior_7d == 0:
        direction = Direction.QUIET
    elif prior_7d == 0:
        direction = Direction.NEW
    elif last_24h >= 1.5 * average:
        direction = Direction.RISING
    elif last_24h <= 0.5 * average:
        direction = Direction.FALLING
    else:
        direction = Direction.STEADY
    return Trend(last_24h, round(average, 2), direction)
