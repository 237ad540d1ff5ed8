"""Answering rules without I/O: what may be answered, a re-answer superseding the current
answer, and an escalation answered or forwarded with its event."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from services.feedback.answers.domain import (
    Answer,
    NotAQuestion,
    SourceKind,
    check_answerable,
    give_answer,
)
from services.feedback.events import EscalationForwarded, QuestionAnswered
from services.feedback.findings.domain import InvalidTransition
from services.feedback.findings.escalations import (
    ESCALATION_TRANSITIONS,
    EscalationDraft,
    EscalationStatus,
    Route,
    Rule,
    open_escalation,
)
from tests.feedback.findings.builders import T0

DRAFT = EscalationDraft(Route.PM, Rule.URGENT_TICKET, "urgent support ticket", timedelta(hours=8))


def opened():
    escalation, _ = open_escalation(
        DRAFT,
        escalation_id="esc-1",
        product_id="p1",
        finding_id="f1",
        event_seq=1,
        event_id="e1",
        now=T0,
    )
    return escalation


def first_answer(**overrides):
    values = {
        "answer_id": "a1",
        "product_id": "p1",
        "source_kind": SourceKind.FINDING,
        "source_id": "f1",
        "question": "Is the jug dishwasher safe?",
        "text": "Yes, the jug is; the base is not.",
        "by": "pm@example.com",
        "now": T0,
        "current": None,
    }
    return give_answer(**{**values, **overrides})


def test_a_first_answer_replaces_nothing() -> None:
    answer, superseded = first_answer()
    assert superseded is None
    assert answer == Answer(
        id="a1",
        product_id="p1",
        source_kind=SourceKind.FINDING,
        source_id="f1",
        question="Is the jug dishwasher safe?",
        answer="Yes, the jug is; the base is not.",
        answered_by="pm@example.com",
        answered_at=T0,
    )


def test_a_re_answer_supersedes_the_current_one_and_keeps_its_question() -> None:
    first, _ = first_answer()
    later = T0 + timedelta(days=2)
    second, superseded = first_answer(
        answer_id="a2",
        question="a different quote now represents the finding",
        text="Yes, both parts since the 2025 model.",
        by="lead@example.com",
        now=later,
        current=first,
    )
    assert superseded is not None
    assert (superseded.id, superseded.superseded_at, superseded.answer) == (
        "a1",
        later,
        first.answer,
    )
    assert (second.id, second.replaces, second.answered_by, second.answered_at) == (
        "a2",
        "a1",
        "lead@example.com",
        later,
    )
    # The question stays the one first answered: the Q&A entry keeps its meaning.
    assert second.question == "Is the jug dishwasher safe?"
    assert second.superseded_at is None


def test_a_long_question_is_cut_to_the_stored_length() -> None:
    answer, _ = first_answer(question="why " * 200)
    assert len(answer.question) == 500


def test_the_answer_row_and_event_say_the_same() -> None:
    answer, _ = first_answer()
    row = answer.row()
    assert Answer.from_row(SimpleNamespace(**row)) == answer
    event = answer.event()
    assert event == QuestionAnswered(
        answer_id="a1",
        product_id="p1",
        source_kind="finding",
        source_id="f1",
        question=row["question"],
        answer=row["answer"],
        answered_by="pm@example.com",
        answered_at=T0,
        replaces=None,
    )


@pytest.mark.parametrize("kind", ["defect", "requirement", "praise", "modification_request"])
def test_only_a_question_finding_is_answered(kind: str) -> None:
    check_answerable(finding_id="f1", kind="question")
    with pytest.raises(NotAQuestion) as caught:
        check_answerable(finding_id="f1", kind=kind)
    assert caught.value.status == 409
    assert f"is a {kind} finding" in str(caught.value)


def test_an_open_escalation_is_answered_and_may_be_answered_again() -> None:
    answered = opened().answered(now=T0 + timedelta(hours=1))
    assert (answered.status, answered.done_at) == (
        EscalationStatus.ANSWERED,
        T0 + timedelta(hours=1),
    )
    again = answered.answered(now=T0 + timedelta(hours=5))
    # Still answered since the first answer: a correction does not move when it was closed.
    assert (again.status, again.done_at) == (EscalationStatus.ANSWERED, T0 + timedelta(hours=1))
    assert not again.is_overdue(T0 + timedelta(days=3))
    with pytest.raises(InvalidTransition):
        answered.close(note="done", now=T0 + timedelta(hours=6))


def test_a_done_escalation_is_neither_answered_nor_forwarded() -> None:
    done = opened().close(note="called the customer", now=T0)
    with pytest.raises(InvalidTransition) as caught:
        done.answered(now=T0)
    assert caught.value.status == 409
    with pytest.raises(InvalidTransition):
        done.forward(by="pm", note=None, now=T0)


def test_forwarding_hands_the_escalation_to_sales_with_its_event() -> None:
    at = T0 + timedelta(hours=2)
    forwarded, event = opened().forward(by="pm@example.com", note="bulk order", now=at)
    assert (forwarded.route, forwarded.status) == (Route.SALES, EscalationStatus.FORWARDED)
    assert (forwarded.forwarded_at, forwarded.forwarded_by, forwarded.forward_note) == (
        at,
        "pm@example.com",
        "bulk order",
    )
    assert forwarded.due_at == T0 + timedelta(hours=8)
    # Sales still owes the answer: past its due time it is overdue like an open one.
    assert forwarded.is_overdue(T0 + timedelta(hours=9))
    assert event == EscalationForwarded(
        escalation_id="esc-1",
        from_route="pm",
        route="sales",
        rule="urgent_ticket",
        reason="urgent support ticket",
        product_id="p1",
        finding_id="f1",
        note="bulk order",
        forwarded_by="pm@example.com",
        forwarded_at=at,
        due_at=T0 + timedelta(hours=8),
    )
    # Sales answers it, or closes it; it is not forwarded twice.
    assert forwarded.answered(now=at).status is EscalationStatus.ANSWERED
    assert forwarded.close(note=None, now=at).status is EscalationStatus.DONE
    with pytest.raises(InvalidTransition):
        forwarded.forward(by="pm", note=None, now=at)


def test_every_status_has_its_transitions() -> None:
    assert set(ESCALATION_TRANSITIONS) == set(EscalationStatus)
    assert ESCALATION_TRANSITIONS[EscalationStatus.DONE] == frozenset()
