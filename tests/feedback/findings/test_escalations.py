"""Escalation rules without I/O: routing, SLAs and status."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.feedback.findings.domain import Finding, InvalidTransition, Status
from services.feedback.findings.escalations import (
    EscalationStatus,
    Route,
    Rule,
    Slas,
    close_escalation,
    escalations_for_item,
    needs_critical_escalation,
    sales_topic,
)
from services.feedback.triage import Severity
from tests.feedback.findings.builders import item, put

SLAS = Slas(timedelta(hours=4), timedelta(hours=8), timedelta(hours=24))


def test_an_escalation_is_done_once() -> None:
    assert close_escalation(EscalationStatus.OPEN) is EscalationStatus.DONE
    with pytest.raises(InvalidTransition):
        close_escalation(EscalationStatus.DONE)


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
