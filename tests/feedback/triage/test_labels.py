"""The triage vocabulary: severities are ordered, worst() picks the most severe."""

from __future__ import annotations

import dataclasses

import pytest

from services.feedback.triage import (
    SEVERITY_ORDER,
    Category,
    Severity,
    TriageInput,
    rank,
    worst,
)

LOW, MEDIUM, HIGH, CRITICAL = Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL


def test_the_values_are_the_public_contract() -> None:
    assert [c.value for c in Category] == [
        "defect",
        "modification_request",
        "requirement",
        "question",
        "praise",
        "other",
    ]
    assert [s.value for s in Severity] == ["low", "medium", "high", "critical"]


def test_severities_are_ordered_from_low_to_critical() -> None:
    assert SEVERITY_ORDER == (LOW, MEDIUM, HIGH, CRITICAL)
    assert [rank(s) for s in SEVERITY_ORDER] == [0, 1, 2, 3]
    assert rank("high") == 2


@pytest.mark.parametrize(
    ("severities", "expected"),
    [
        ([LOW], LOW),
        ([LOW, MEDIUM], MEDIUM),
        ([HIGH, LOW, MEDIUM], HIGH),
        ([MEDIUM, CRITICAL, HIGH, LOW], CRITICAL),
        ([CRITICAL, CRITICAL], CRITICAL),
        (["medium", "high"], HIGH),
        ((s for s in (LOW, HIGH)), HIGH),
        ([], LOW),
    ],
)
def test_worst(severities, expected) -> None:
    assert worst(severities) is expected


def test_worst_refuses_an_unknown_severity() -> None:
    with pytest.raises(ValueError, match="severe"):
        worst([LOW, "severe"])


def test_inputs_are_frozen_with_optional_fields() -> None:
    item = TriageInput(kind="question", text="Is it dishwasher safe?")
    assert (item.rating, item.subject, item.reason, item.priority) == (None, None, None, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.text = "changed"  # type: ignore[misc]
