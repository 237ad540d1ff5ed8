"""Escalation rules as plain Python: which feedback goes to the product manager or to sales,
by when, and the escalation itself, which makes both its row and its event. No I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from services.feedback.events import EscalationCreated, EscalationForwarded
from services.feedback.findings.domain import Finding, InvalidTransition, Status, quote_of
from services.feedback.triage import Category, Severity


class Route(StrEnum):
    PM = "pm"
    SALES = "sales"


class EscalationStatus(StrEnum):
    OPEN = "open"
    # Handed to sales (`route` becomes `sales`); still waiting for an answer.
    FORWARDED = "forwarded"
    ANSWERED = "answered"
    DONE = "done"


class Rule(StrEnum):
    """Why an escalation exists."""

    CRITICAL_DEFECT = "critical_defect"
    URGENT_TICKET = "urgent_ticket"
    SALES_QUESTION = "sales_question"


# An escalation is closed once (answered, or done without an answer); a new problem raises a
# new one. Answered -> answered is a re-answer: the new answer replaces the shown one and the
# old stays in the answer history. Done without an answer is final: the customer was dealt
# with elsewhere, so an answer there would be a new matter.
ESCALATION_TRANSITIONS: Mapping[EscalationStatus, frozenset[EscalationStatus]] = MappingProxyType(
    {
        EscalationStatus.OPEN: frozenset(
            {EscalationStatus.FORWARDED, EscalationStatus.ANSWERED, EscalationStatus.DONE}
        ),
        EscalationStatus.FORWARDED: frozenset({EscalationStatus.ANSWERED, EscalationStatus.DONE}),
        EscalationStatus.ANSWERED: frozenset({EscalationStatus.ANSWERED}),
        EscalationStatus.DONE: frozenset(),
    }
)
# Escalations someone still owes an answer: they count as overdue past their due time.
AWAITING: frozenset[EscalationStatus] = frozenset(
    {EscalationStatus.OPEN, EscalationStatus.FORWARDED}
)
AWAITING_VALUES: tuple[str, ...] = tuple(sorted(status.value for status in AWAITING))

# The `escalation.reason` column's length.
REASON_LIMIT = 500


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


# --- the escalation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Escalation:
    """An escalation as stored. Its row and its `created` event come from this one object,
    so the two cannot say different things."""

    id: str
    route: Route
    rule: Rule
    reason: str
    product_id: str | None
    finding_id: str | None
    # The customer event that raised it: its `seq` (the key: an `event_id` is unique only
    # within its source) and its id; none for a critical defect's.
    event_seq: int | None
    event_id: str | None
    due_at: datetime
    created_at: datetime
    status: EscalationStatus = EscalationStatus.OPEN
    note: str | None = None
    done_at: datetime | None = None
    forwarded_at: datetime | None = None
    forwarded_by: str | None = None
    forward_note: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> Escalation:
        """An escalation from an `escalation` row (or anything with its columns)."""
        return cls(
            id=row.id,
            route=Route(row.route),
            rule=Rule(row.rule),
            reason=row.reason,
            product_id=row.product_id,
            finding_id=row.finding_id,
            event_seq=row.event_seq,
            event_id=row.event_id,
            due_at=row.due_at,
            created_at=row.created_at,
            status=EscalationStatus(row.status),
            note=row.note,
            done_at=row.done_at,
            forwarded_at=row.forwarded_at,
            forwarded_by=row.forwarded_by,
            forward_note=row.forward_note,
        )

    def row(self) -> dict[str, Any]:
        """The `escalation` row's values."""
        return {
            "id": self.id,
            "route": self.route.value,
            "rule": self.rule.value,
            "reason": self.reason,
            "product_id": self.product_id,
            "finding_id": self.finding_id,
            "event_seq": self.event_seq,
            "event_id": self.event_id,
            "due_at": self.due_at,
            "status": self.status.value,
            "note": self.note,
            "created_at": self.created_at,
            "done_at": self.done_at,
            "forwarded_at": self.forwarded_at,
            "forwarded_by": self.forwarded_by,
            "forward_note": self.forward_note,
        }

    def is_overdue(self, now: datetime) -> bool:
        return self.status in AWAITING and self.due_at < now

    def _to(self, to: EscalationStatus) -> None:
        if to not in ESCALATION_TRANSITIONS[self.status]:
            raise InvalidTransition(self.status, to, what="an escalation")

    def close(self, *, note: str | None, now: datetime) -> Escalation:
        """The escalation dealt with (done, with the note); 409 if it already was."""
        self._to(EscalationStatus.DONE)
        return replace(self, status=EscalationStatus.DONE, note=note, done_at=now)

    def answered(self, *, now: datetime) -> Escalation:
        """The escalation answered (the answer itself is an `Answer`); a re-answer keeps
        when it was first closed. 409 once it is done without an answer."""
        self._to(EscalationStatus.ANSWERED)
        return replace(self, status=EscalationStatus.ANSWERED, done_at=self.done_at or now)

    def forward(
        self, *, by: str, note: str | None, now: datetime
    ) -> tuple[Escalation, EscalationForwarded]:
        """The escalation handed to sales (its route becomes `sales`), and the event saying
        so; 409 unless it is open. Its due time stays: the customer is still waiting."""
        self._to(EscalationStatus.FORWARDED)
        forwarded = replace(
            self,
            route=Route.SALES,
            status=EscalationStatus.FORWARDED,
            forwarded_at=now,
            forwarded_by=by,
            forward_note=note,
        )
        event = EscalationForwarded(
            escalation_id=self.id,
            from_route=self.route.value,
            route=Route.SALES.value,
            rule=self.rule.value,
            reason=self.reason,
            product_id=self.product_id,
            finding_id=self.finding_id,
            note=note,
            forwarded_by=by,
            forwarded_at=now,
            due_at=self.due_at,
        )
        return forwarded, event


def open_escalation(
    draft: EscalationDraft,
    *,
    escalation_id: str,
    product_id: str | None,
    finding_id: str | None,
    event_seq: int | None,
    event_id: str | None,
    now: datetime,
) -> tuple[Escalation, EscalationCreated]:
    """A new open escalation, due the draft's SLA from now, and the event announcing it."""
    escalation = Escalation(
        id=escalation_id,
        route=draft.route,
        rule=draft.rule,
        reason=draft.reason[:REASON_LIMIT],
        product_id=product_id,
        finding_id=finding_id,
        event_seq=event_seq,
        event_id=event_id,
        due_at=now + draft.sla,
        created_at=now,
    )
    created = EscalationCreated(
        escalation_id=escalation.id,
        route=escalation.route.value,
        rule=escalation.rule.value,
        reason=escalation.reason,
        product_id=escalation.product_id,
        finding_id=escalation.finding_id,
        event_id=escalation.event_id,
        due_at=escalation.due_at,
        created_at=escalation.created_at,
    )
    return escalation, created
