"""Feedback rules as plain Python: finding grouping, severity, status transitions, trend,
escalation routing and search-miss clustering. No I/O."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from services.feedback.triage import Category, Severity, TriageResult, rank, worst
from shared.errors import Conflict

QUOTE_LIMIT = 500


class Status(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Route(StrEnum):
    PM = "pm"
    SALES = "sales"


class EscalationStatus(StrEnum):
    OPEN = "open"
    DONE = "done"


class Rule(StrEnum):
    """Why an escalation exists."""

    CRITICAL_DEFECT = "critical_defect"
    URGENT_TICKET = "urgent_ticket"
    SALES_QUESTION = "sales_question"


# A person moves a finding forward; only new items move it back (a regression).
ALLOWED_TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.OPEN: frozenset({Status.ACKNOWLEDGED, Status.RESOLVED}),
    Status.ACKNOWLEDGED: frozenset({Status.RESOLVED}),
    Status.RESOLVED: frozenset(),
}


class InvalidTransition(Conflict):
    def __init__(self, current: str, to: str, *, what: str = "finding") -> None:
        super().__init__(
            f"a {what} cannot go from {current} to {to}", current_status=current, to=to
        )


def transition(current: Status, to: Status) -> Status:
    """The finding's new status, or InvalidTransition (409)."""
    current, to = Status(current), Status(to)
    if to not in ALLOWED_TRANSITIONS[current]:
        raise InvalidTransition(current, to)
    return to


def close_escalation(current: EscalationStatus) -> EscalationStatus:
    """An open escalation becomes done; a done one cannot be done again (409)."""
    if EscalationStatus(current) is not EscalationStatus.OPEN:
        raise InvalidTransition(current, EscalationStatus.DONE, what="escalation")
    return EscalationStatus.DONE


def quote_of(text: str) -> str:
    """A text cut to quote length on a word boundary."""
    text = " ".join(text.split())
    if len(text) <= QUOTE_LIMIT:
        return text
    return text[: QUOTE_LIMIT - 1].rsplit(" ", 1)[0] + "…"


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


@dataclass(frozen=True)
class Trend:
    last_24h: int
    daily_average_prior_7d: float
    direction: str


def trend(*, last_24h: int, prior_7d: int) -> Trend:
    """Items in the last 24 hours against the daily average of the 7 days before."""
    average = prior_7d / 7
    if last_24h == 0 and prior_7d == 0:
        direction = "quiet"
    elif prior_7d == 0:
        direction = "new"
    elif last_24h >= 1.5 * average:
        direction = "rising"
    elif last_24h <= 0.5 * average:
        direction = "falling"
    else:
        direction = "steady"
    return Trend(last_24h, round(average, 2), direction)


# --- escalations -----------------------------------------------------------------------------


_SALES_TOPICS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "bulk",
        re.compile(
            r"\b(bulk|wholesale|in volume|volume (?:discount|pricing|order)|"
            r"\d{2,}\s*(?:units|pieces|pcs|items))\b"
        ),
    ),
    (
        "business",
        re.compile(
            r"\b(business|b2b|corporate|company account|our company|reseller|resell|"
            r"trade account|purchase order|vat (?:number|id)|invoice)\w*"
        ),
    ),
    (
        "stock",
        re.compile(
            r"\b(in stock|out of stock|back in stock|restock\w*|stock|availab\w+|"
            r"sold out|when will (?:it|this|they) (?:be )?(?:ship|arrive|be available))"
        ),
    ),
    (
        "price",
        re.compile(
            r"\b(price\w*|pricing|cost|costs|how much|discount\w*|coupon\w*|cheaper|"
            r"price match|offer|deal)\b"
        ),
    ),
)


def sales_topic(text: str) -> str | None:
    """The sales matter a question is about (bulk, business, stock, price), if any."""
    lowered = text.casefold()
    for topic, pattern in _SALES_TOPICS:
        if pattern.search(lowered):
            return topic
    return None


@dataclass(frozen=True)
class EscalationDraft:
    route: Route
    rule: Rule
    reason: str
    sla: timedelta


@dataclass(frozen=True)
class Slas:
    critical_defect: timedelta
    urgent_ticket: timedelta
    sales_question: timedelta


def escalations_for_item(
    *, kind: str, category: str, text: str, subject: str | None, priority: str | None, slas: Slas
) -> list[EscalationDraft]:
    """Sales questions (price, stock, bulk, business orders) go to sales; urgent support
    tickets to the product manager."""
    drafts = []
    if kind == "question" or category == Category.QUESTION:
        topic = sales_topic(text)
        if topic is not None:
            drafts.append(
                EscalationDraft(
                    Route.SALES,
                    Rule.SALES_QUESTION,
                    f"customer question about {topic}: “{_short(text)}”",
                    slas.sales_question,
                )
            )
    if kind == "support_ticket" and priority == "urgent":
        drafts.append(
            EscalationDraft(
                Route.PM,
                Rule.URGENT_TICKET,
                f"urgent support ticket: “{_short(subject or text)}”",
                slas.urgent_ticket,
            )
        )
    return drafts


def needs_critical_escalation(
    finding: Finding, *, has_open: bool, slas: Slas
) -> EscalationDraft | None:
    """A critical defect that is not resolved goes to the product manager, once at a time."""
    if (
        finding.kind is Category.DEFECT
        and finding.severity is Severity.CRITICAL
        and finding.status is not Status.RESOLVED
        and not has_open
    ):
        what = "regressed critical defect" if finding.regression else "critical defect"
        return EscalationDraft(
            Route.PM,
            Rule.CRITICAL_DEFECT,
            f"{what} ({finding.topic}): “{_short(finding.representative_quote)}”",
            slas.critical_defect,
        )
    return None


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


# --- search misses ---------------------------------------------------------------------------


_NOT_WORD = re.compile(r"[^\w]+")


def normalize_query(query: str) -> str:
    """Case, accents of compatibility forms, punctuation and spacing do not make a new
    search: `Blue  Kettle!` and `blue kettle` are one cluster."""
    text = unicodedata.normalize("NFKC", query).casefold()
    return " ".join(_NOT_WORD.sub(" ", text).split())[:500]
