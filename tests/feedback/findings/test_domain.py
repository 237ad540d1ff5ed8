"""Finding rules without I/O: grouping, status, trend and quotes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.feedback.findings.domain import (
    Finding,
    InvalidTransition,
    Status,
    quote_of,
    transition,
    trend,
)
from services.feedback.triage import Category, Severity
from tests.feedback.findings.builders import T0, dot, item, put


def test_similar_items_share_a_finding_and_different_ones_do_not() -> None:
    findings: list[Finding] = []
    first = put(item((1, 0, 0), quote="lid cracked"), findings)
    same = put(item((0.95, 0.2, 0), minutes=5, quote="the lid split"), findings)
    other = put(item((0, 1, 0), quote="cable frays"), findings)
    other_product = put(item((1, 0, 0), product="p2"), findings)
    other_kind = put(item((1, 0, 0), category=Category.PRAISE, severity=Severity.LOW), findings)

    assert same is first
    assert len({id(f) for f in (first, other, other_product, other_kind)}) == 4
    assert first.is_new
    assert (first.item_count, first.new_items) == (2, 2)
    assert (first.first_seen, first.last_seen) == (T0, T0 + timedelta(minutes=5))
    # The centroid moved towards the second item but stays a unit vector.
    assert dot(first.centroid, first.centroid) == pytest.approx(1.0)
    assert first.centroid[1] > 0


def test_severity_is_the_worst_item_and_the_worst_item_speaks_for_the_finding() -> None:
    findings: list[Finding] = []
    finding = put(item((1, 0), severity=Severity.MEDIUM, quote="lid is stiff"), findings)
    finding.is_new = False
    put(item((1, 0.1), severity=Severity.CRITICAL, quote="lid burned my hand"), findings)
    put(item((1, 0.05), severity=Severity.LOW, quote="lid ok-ish"), findings)

    assert finding.severity is Severity.CRITICAL
    assert finding.representative_quote == "lid burned my hand"
    assert finding.changed == {"item_count", "severity"}


def test_a_safety_hazard_is_a_problem_of_its_own() -> None:
    findings: list[Finding] = []
    stiff = put(item((1, 0), severity=Severity.MEDIUM, quote="lid is stiff"), findings)
    burn = put(item((1, 0), severity=Severity.CRITICAL, hazard=True, quote="lid burned"), findings)
    scald = put(item((1, 0.1), severity=Severity.HIGH, hazard=True, quote="lid scalds"), findings)

    assert burn is not stiff
    assert scald is burn
    assert (burn.safety_hazard, stiff.safety_hazard) == (True, False)
    assert (stiff.severity, stiff.item_count) == (Severity.MEDIUM, 1)


def test_new_items_reopen_a_resolved_finding_as_a_regression() -> None:
    findings: list[Finding] = []
    finding = put(item((1, 0)), findings)
    finding.status, finding.is_new = Status.RESOLVED, False
    assert put(item((1, 0)), findings) is finding
    assert finding.status is Status.OPEN
    assert finding.regression is True
    assert {"status", "regression"} <= finding.changed


@pytest.mark.parametrize(
    ("current", "to", "allowed"),
    [
        (Status.OPEN, Status.ACKNOWLEDGED, True),
        (Status.OPEN, Status.RESOLVED, True),
        (Status.ACKNOWLEDGED, Status.RESOLVED, True),
        (Status.ACKNOWLEDGED, Status.ACKNOWLEDGED, False),
        (Status.RESOLVED, Status.ACKNOWLEDGED, False),
        (Status.RESOLVED, Status.RESOLVED, False),
        (Status.ACKNOWLEDGED, Status.OPEN, False),
    ],
)
def test_status_transitions(current: Status, to: Status, allowed: bool) -> None:
    if allowed:
        assert transition(current, to) is to
    else:
        with pytest.raises(InvalidTransition) as caught:
            transition(current, to)
        assert caught.value.status == 409


@pytest.mark.parametrize(
    ("last", "prior", "direction", "average"),
    [
        (0, 0, "quiet", 0),
        (3, 0, "new", 0),
        (5, 14, "rising", 2),
        (2, 14, "steady", 2),
        (0, 14, "falling", 2),
    ],
)
def test_trend(last: int, prior: int, direction: str, average: float) -> None:
    seen = trend(last_24h=last, prior_7d=prior)
    assert (seen.last_24h, seen.daily_average_prior_7d, seen.direction) == (
        last,
        average,
        direction,
    )


def test_quotes_are_cut_on_a_word() -> None:
    assert quote_of(" a  b\n c ") == "a b c"
    long = quote_of("word " * 200)
    assert len(long) <= 500
    assert long.endswith("word…")
