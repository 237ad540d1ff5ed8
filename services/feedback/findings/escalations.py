"""Escalation rules as plain Python: which feedback goes to the product manager or to sales,
by when, and an escalation's status. No I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from types import MappingProxyType

from services.feedback.findings.domain import Finding, InvalidTransition, Status, quote_of
from services.feedback.triage import Category, Severity


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


# Someone answers an escalation once; a new problem raises a new one.
ESCALATION_TRANSITIONS: Mapping[EscalationStatus, frozenset[EscalationStatus]] = MappingProxyType(
    {
        EscalationStatus.OPEN: frozenset({EscalationStatus.DONE}),
        EscalationStatus.DONE: frozenset(),
    }
)


def close_escalation(current: EscalationStatus) -> EscalationStatus:
    """An open escalation becomes done; a done one cannot be done again (409)."""
    current, to = EscalationStatus(current), EscalationStatus.DONE
    if to not in ESCALATION_TRANSITIONS[current]:
        raise InvalidTransition(current, to, what="an escalation")
    return to


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


def _short(text: str) -> str:
    return quote_of(text, limit=160)
