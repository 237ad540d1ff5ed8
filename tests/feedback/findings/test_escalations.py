"""Escalation rules without I/O: routing, SLAs, and the escalation with its row and event."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from services.feedback.events import EscalationCreated
from services.feedback.findings.domain import Finding, InvalidTransition, Status
from services.feedback.findings.escalations import (
    ESCALATION_TRANSITIONS,
    REASON_LIMIT,
    Escalation,
    EscalationDraft,
    EscalationStatus,
    Route,
    Rule,
    Slas,
    escalations_for_item,
    needs_critical_escalation,
    open_escalation,
    sales_topic,
)
from services.feedback.tables import escalation as escalation_table
from services.feedback.triage import Severity
from tests.feedback.findings.builders import T0, item, put

SLAS = Slas(timedelta(hours=4), timedelta(hours=8), timedelta(hours=24))


DRAFT = EscalationDraft(
    Route.SALES, Rule.SALES_QUESTION, "customer question about price", SLAS.sales_question
)


def opened(draft: EscalationDraft = DRAFT) -> Escalation:
    escalation, _ = open_escalation(
        draft,
        escalation_id="esc-1",
        product_id="p1",
        finding_id="f1",
        event_seq=1,
        event_id="e1",
        now=T0,
    )
    return escalation


def test_an_escalation_is_done_once() -> None:
    done = opened().close(note="answered", now=T0 + timedelta(hours=1))
    assert (done.status, done.note, done.done_at) == (
        EscalationStatus.DONE,
        "answered",
        T0 + timedelta(hours=1),
    )
    with pytest.raises(InvalidTransition) as caught:
        done.close(note="again", now=T0 + timedelta(hours=2))
    assert caught.value.status == 409
    assert ESCALATION_TRANSITIONS[EscalationStatus.DONE] == frozenset()


def test_an_escalation_opens_with_its_row_and_event_saying_the_same() -> None:
    escalation, created = open_escalation(
        DRAFT,
        escalation_id="esc-1",
        product_id="p1",
        finding_id="f1",
        event_seq=1,
        event_id="e1",
        now=T0,
    )
    row = escalation.row()
    assert set(row) == set(escalation_table.c.keys())
    assert row == {
        "id": "esc-1",
        "route": "sales",
        "rule": "sales_question",
        "reason": "customer question about price",
        "product_id": "p1",
        "finding_id": "f1",
        "event_seq": 1,
        "event_id": "e1",
        "due_at": T0 + timedelta(hours=24),
        "status": "open",
        "note": None,
        "created_at": T0,
        "done_at": None,
        "forwarded_at": None,
        "forwarded_by": None,
        "forward_note": None,
    }
    assert isinstance(created, EscalationCreated)
    assert created.model_dump() == {
        "escalation_id": row["id"],
        **{key: row[key] for key in ("route", "rule", "reason", "product_id", "finding_id")},
        **{key: row[key] for key in ("event_id", "due_at", "created_at")},
    }


def test_a_long_reason_is_cut_to_the_stored_length() -> None:
    draft = EscalationDraft(Route.PM, Rule.URGENT_TICKET, "x" * 600, SLAS.urgent_ticket)
    escalation, created = open_escalation(
        draft,
        escalation_id="esc-2",
        product_id=None,
        finding_id=None,
        event_seq=2,
        event_id="e2",
        now=T0,
    )
    assert len(escalation.reason) == len(created.reason) == REASON_LIMIT


def test_an_escalation_reads_back_from_its_row() -> None:
    escalation = opened().close(note="answered", now=T0 + timedelta(hours=1))
    assert Escalation.from_row(SimpleNamespace(**escalation.row())) == escalation


def test_only_an_open_escalation_past_its_due_time_is_overdue() -> None:
    escalation = opened()
    due = escalation.due_at
    assert not escalation.is_overdue(due)
    assert escalation.is_overdue(due + timedelta(seconds=1))
    done = escalation.close(note=None, now=due)
    assert not done.is_overdue(due + timedelta(days=1))


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("How much does it cost?", "price"),
        ("Is there a discount if I buy two?", "price"),
        ("When will it be back in stock?", "stock"),
        ("Is the red one available?", "stock"),
        ("Do you sell these in bulk?", "bulk"),
        ("Can I order 50 units for the office?", "bulk"),
        ("Can I get an invoice with our VAT number for my company?", "business"),
        ("Is it dishwasher safe?", None),
        ("Does the lid lock?", None),
    ],
)
def test_sales_topics(text: str, topic: str | None) -> None:
    assert sales_topic(text) == topic


def test_item_escalations() -> None:
    sales = escalations_for_item(
        kind="question",
        category="question",
        text="How much for 100 units?",
        subject=None,
        priority=None,
        slas=SLAS,
    )
    assert [(d.route, d.rule, d.sla) for d in sales] == [
        (Route.SALES, Rule.SALES_QUESTION, timedelta(hours=24))
    ]
    assert "bulk" in sales[0].reason
    urgent = escalations_for_item(
        kind="support_ticket",
        category="defect",
        text="It stopped",
        subject="Dead on arrival",
        priority="urgent",
        slas=SLAS,
    )
    assert [(d.route, d.rule, d.sla) for d in urgent] == [
        (Route.PM, Rule.URGENT_TICKET, timedelta(hours=8))
    ]
    assert "Dead on arrival" in urgent[0].reason
    for quiet in (
        {"kind": "support_ticket", "category": "defect", "priority": "high", "text": "It stopped"},
        {"kind": "question", "category": "question", "priority": None, "text": "Is it safe?"},
        {"kind": "review", "category": "praise", "priority": None, "text": "Great price!"},
    ):
        assert escalations_for_item(subject=None, slas=SLAS, **quiet) == []


def test_a_critical_defect_escalates_once_and_not_when_resolved() -> None:
    findings: list[Finding] = []
    finding = put(item((1, 0), severity=Severity.CRITICAL, hazard=True, topic="lid burn"), findings)
    draft = needs_critical_escalation(finding, has_open=False, slas=SLAS)
    assert draft is not None
    assert (draft.route, draft.rule, draft.sla) == (
        Route.PM,
        Rule.CRITICAL_DEFECT,
        SLAS.critical_defect,
    )
    assert "lid burn" in draft.reason
    assert needs_critical_escalation(finding, has_open=True, slas=SLAS) is None
    finding.status = Status.RESOLVED
    assert needs_critical_escalation(finding, has_open=False, slas=SLAS) is None
    high = put(item((0, 1), severity=Severity.HIGH), findings)
    assert needs_critical_escalation(high, has_open=False, slas=SLAS) is None
